/* JSON helpers over jansson. Convention: every function that returns a
 * json_t * returns a new reference, which the caller releases with
 * json_decref(). Getters return borrowed pointers valid while the object
 * lives. Reals are printed round-trip exact (%.17g). */
#ifndef AS_JSON_H
#define AS_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Parse 'len' bytes as one JSON value into *out (new reference).
 * Duplicate keys are rejected. On failure returns AS_EINVAL with
 * "<what>: line L column C: <reason>". */
int as_json_parse(json_t **out, const char *data, size_t len, const char *what);

/* Parse a document from outside: over 'max' bytes gives AS_ETOOBIG,
 * invalid UTF-8 AS_EINVAL naming the byte offset, then as as_json_parse.
 * Every message starts with "<what>: ". */
int as_json_parse_doc(json_t **out, const char *data, size_t len, size_t max, const char *what);

/* Serialize compactly (caller frees with free()); NULL only on no memory. */
char *as_json_dump(const json_t *v);
/* The same, indented for people. */
char *as_json_dump_pretty(const json_t *v);
/* Print 'v' compactly plus a newline to 'fp'. */
int as_json_print(FILE *fp, const json_t *v);

/* Typed field getters. A missing field gives AS_ENOTFOUND when 'required'
 * is 0 (and *out untouched) or AS_EINVAL when it is 1; a field of the wrong
 * type always gives AS_EINVAL naming the field. */
int as_json_get_str(const json_t *obj, const char *key, int required, const char **out);
int as_json_get_int(const json_t *obj, const char *key, int required, int64_t *out);
int as_json_get_num(const json_t *obj, const char *key, int required, double *out);
int as_json_get_bool(const json_t *obj, const char *key, int required, int *out);
int as_json_get_array(const json_t *obj, const char *key, int required, json_t **out);
int as_json_get_object(const json_t *obj, const char *key, int required, json_t **out);

/* Set obj[key] to a new string/int/real, stealing nothing from the caller. */
int as_json_set_str(json_t *obj, const char *key, const char *value);
int as_json_set_int(json_t *obj, const char *key, int64_t value);
int as_json_set_num(json_t *obj, const char *key, double value);

#endif
