/* File helpers; see fs.h. */
#include "common/fs.h"
#include "common/buf.h"
#include "common/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int as_file_read(char **out, size_t *len, const char *path, size_t max)
{
    FILE *fp;
    as_buf b;
    char chunk[65536];
    size_t n;
    int rc = 0;

    if (strcmp(path, "-") == 0) {
        fp = stdin;
    } else if ((fp = fopen(path, "rb")) == NULL) {
        if (errno == ENOENT)
            return as_error_set(AS_ENOTFOUND, "%s: no such file", path);
        return as_error_set(AS_ERROR, "%s: %s", path, strerror(errno));
    }
    as_buf_init(&b, max);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if ((rc = as_buf_append(&b, chunk, n)) < 0) {
            rc = as_error_set(AS_ETOOBIG, "%s: larger than the limit of %zu bytes",
                              path, max);
            break;
        }
    }
    if (rc == 0 && ferror(fp))
        rc = as_error_set(AS_ERROR, "%s: read error", path);
    if (fp != stdin)
        fclose(fp);
    if (rc < 0) {
        as_buf_free(&b);
        return rc;
    }
    if (len)
        *len = b.len;
    *out = as_buf_detach(&b);
    return 0;
}

int as_file_write_atomic(const char *path, const void *data, size_t len)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    const char *p = data;
    int fd, rc = 0;

    if (tmp == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    snprintf(tmp, plen + 16, "%s.tmp%ld", path, (long)getpid());
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
        rc = as_error_set(AS_ERROR, "%s: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            rc = as_error_set(AS_ERROR, "%s: %s", tmp, strerror(errno));
            break;
        }
        p += w;
        len -= (size_t)w;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = as_error_set(AS_ERROR, "%s: %s", tmp, strerror(errno));
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = as_error_set(AS_ERROR, "%s: %s", path, strerror(errno));
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int as_mkdir_p(const char *path)
{
    char *p, *s;
    int rc = 0;

    if (path[0] == '\0')
        return as_error_set(AS_EINVAL, "an empty directory path");
    if ((p = strdup(path)) == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    for (s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                rc = as_error_set(AS_ERROR, "%s: %s", p, strerror(errno));
                break;
            }
            *s = c;
            if (c == '\0')
                break;
        }
    }
    if (rc == 0 && !as_path_is_dir(path))
        rc = as_error_set(AS_ERROR, "%s: not a directory", path);
    free(p);
    return rc;
}

int as_path_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

int as_path_is_dir(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

char *as_path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);

    if (p == NULL)
        return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}
