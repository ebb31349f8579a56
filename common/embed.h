/* Files embedded into the binary at build time (migrations, web assets) by
 * cmake/embed.cmake. Each table is sorted by name and its data is
 * NUL-terminated (len excludes the NUL). */
#ifndef AS_EMBED_H
#define AS_EMBED_H

#include <stddef.h>

typedef struct as_embed {
    const char *name;            /* path relative to the embedded folder */
    const unsigned char *data;
    size_t len;
} as_embed;

#endif
