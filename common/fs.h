/* Files and directories: capped reads, atomic writes, mkdir -p. */
#ifndef AS_FS_H
#define AS_FS_H

#include <stddef.h>

/* Read the whole file into *out (caller frees; NUL-terminated) and its size
 * into *len. Over 'max' bytes gives AS_ETOOBIG naming the file; a missing
 * file gives AS_ENOTFOUND. 'path' "-" reads standard input. */
int as_file_read(char **out, size_t *len, const char *path, size_t max);

/* Write 'len' bytes to 'path' through a temporary file and rename, so
 * readers see the old or the new content, never a mix. */
int as_file_write_atomic(const char *path, const void *data, size_t len);

/* Create 'path' and its missing parents (mode 0755). */
int as_mkdir_p(const char *path);

/* 1 if 'path' exists (any type), else 0. */
int as_path_exists(const char *path);
/* 1 if 'path' is a directory, else 0. */
int as_path_is_dir(const char *path);

/* "a" + "/" + "b" into a new string (caller frees); NULL on no memory. */
char *as_path_join(const char *a, const char *b);

#endif
