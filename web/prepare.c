/* Getting a data directory ready for `assay serve`, and the --demo seed. */
#include "web/web.h"

#include "common/error.h"
#include "common/fs.h"

#include <stdlib.h>

int web_prepare_data(const char *data_dir, int demo)
{
    char *path = as_path_join(data_dir, "assay.db");
    store *db = NULL;
    int rc;

    (void)demo;
    if (path == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    rc = store_open(&db, path, STORE_OPEN_MIGRATE);
    free(path);
    store_close(db);
    return rc;
}
