/* The one error convention of assay: functions return 0 on success and a
 * negative AS_E* code on failure, after storing a one-line message for the
 * calling thread. Only cli/ and web/ turn codes into text or HTTP statuses. */
#ifndef AS_ERROR_H
#define AS_ERROR_H

enum {
    AS_OK = 0,
    AS_ERROR = -1,        /* anything not listed below */
    AS_ENOTFOUND = -2,    /* unknown name, version, label, id */
    AS_EEXISTS = -3,      /* already there */
    AS_EINVAL = -4,       /* invalid input: syntax, schema, value */
    AS_ETOOBIG = -5,      /* over a size limit */
    AS_ETIMEOUT = -6,
    AS_EBUSY = -7,        /* locked by another writer */
    AS_EUPSTREAM = -8,    /* a model or remote service failed */
    AS_EGPU = -9,
    AS_ENOMEM = -10,
    AS_ECONFLICT = -11,   /* state conflict: non-fast-forward, stale version */
    AS_EAUTH = -12,       /* missing or wrong credentials */
    AS_EFORBIDDEN = -13,  /* authenticated but not allowed */
    AS_EUNSUPPORTED = -14,
    AS_ECANCELED = -15,
    AS_ECORRUPT = -16     /* a database or repository that is damaged */
};

/* Store the message for this thread and return 'code'. The message is
 * always one line of valid UTF-8: bytes that are not ('%s' of bad input, a
 * character cut at the 1,023-byte limit) and control characters are stored
 * as '?', line breaks and tabs as spaces. */
int as_error_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefix the current message with "<context>: " and return 'code'.
 * Used when passing an error up adds useful context ("line 3"). */
int as_error_wrap(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The last message set on this thread; borrowed until the next set. */
const char *as_error_msg(void);

/* Reset the message to empty. */
void as_error_clear(void);

/* Stable machine-readable name of a code ("not_found", "invalid", ...). */
const char *as_error_name(int code);

#endif
