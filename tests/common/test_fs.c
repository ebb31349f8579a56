/* common/fs: capped reads, atomic writes, mkdir -p. */
#include "common/fs.h"
#include "tests/test.h"

#include <stdlib.h>
#include <unistd.h>

static char dir[] = "/tmp/assay-test-fs-XXXXXX";

static void fs__write_then_read(void)
{
    char *path = as_path_join(dir, "a/b/c"), *file, *data = NULL;
    size_t len = 0;

    T_OK(as_mkdir_p(path));
    T_CHECK(as_path_is_dir(path));
    file = as_path_join(path, "f.txt");
    T_OK(as_file_write_atomic(file, "hello", 5));
    T_OK(as_file_read(&data, &len, file, 100));
    T_EQ_INT(len, 5);
    T_EQ_STR(data, "hello");
    free(data);
    T_ERR(as_file_read(&data, &len, file, 4), AS_ETOOBIG);
    unlink(file);
    T_ERR(as_file_read(&data, &len, file, 4), AS_ENOTFOUND);
    free(file);
    free(path);
    T_ERR(as_mkdir_p(""), AS_EINVAL);      /* used to read past its copy */
    T_OK(as_mkdir_p("/"));
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        return 1;
    T_RUN(fs__write_then_read);
    return t_done();
}
