/* Classification metrics with scikit-learn 1.3+ semantics: per-label
 * precision, recall, F1 and support, micro/macro/weighted/binary averages,
 * accuracy and the confusion matrix, with scikit-learn's label ordering,
 * type rules and error messages (see ../shared/reference/METRICS.md
 * section 2).
 *
 * Pairs are streamed into an accumulator that keeps only the distinct
 * labels and the counts of distinct (true, pred) pairs, so memory does not
 * grow with the number of pairs. */
#ifndef MET_CLASSIFY_H
#define MET_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

/* A label as JSON gives it. numpy rules apply per side (all true labels,
 * all predicted labels): a side with any string becomes all strings
 * (1 -> "1", 1.5 -> "1.5", true -> "True"); otherwise bool < int < float. */
typedef enum { MET_LABEL_STR, MET_LABEL_INT, MET_LABEL_FLOAT, MET_LABEL_BOOL } met_label_kind;

typedef struct met_label {
    met_label_kind kind;
    const char *s;      /* MET_LABEL_STR: bytes (borrowed) */
    size_t len;
    int64_t i;          /* MET_LABEL_INT, MET_LABEL_BOOL (0/1) */
    double d;           /* MET_LABEL_FLOAT */
} met_label;

/* Limits: distinct labels and their total bytes. */
#define MET_CLS_MAX_LABELS 65536
#define MET_CLS_MAX_LABEL_BYTES ((size_t)16 << 20)

typedef struct met_cls met_cls;

int met_cls_new(met_cls **out);     /* caller frees with met_cls_free */
void met_cls_free(met_cls *c);
/* Add one (true, pred) pair; AS_ETOOBIG past the limits. */
int met_cls_add(met_cls *c, const met_label *truth, const met_label *pred);
/* The same for string labels. */
int met_cls_add_str(met_cls *c, const char *truth, size_t tlen, const char *pred, size_t plen);
/* Number of pairs added. */
int64_t met_cls_count(const met_cls *c);

/* zero_division: 0 ("warn" behaves as 0), 1, or NaN (1.3+). */
#define MET_ZD_NAN (-1)

typedef struct met_cls_opts {
    const met_label *labels;    /* explicit label list and order, or NULL */
    size_t nlabels;
    const met_label *pos_label; /* NULL means the integer 1, as scikit-learn */
    int zero_division;          /* 0, 1 or MET_ZD_NAN */
} met_cls_opts;

typedef struct met_cls_avg {
    double precision, recall, f1;
    int64_t support;            /* sum of the supports averaged over */
} met_cls_avg;

typedef struct met_cls_result {
    size_t n;                   /* the selected labels, in order */
    met_label_kind kind;        /* the labels' common kind after numpy's rules */
    met_label *labels;          /* label values (strings owned by the result) */
    char **names;               /* str(label) as Python prints it */
    double *precision, *recall, *f1;
    int64_t *support;
    met_cls_avg micro, macro, weighted;
    int has_binary;             /* 0: binary_error says why not */
    met_cls_avg binary;
    char binary_error[1536];
    int target_binary;          /* scikit-learn's target type is "binary" */
    int report_accuracy;        /* classification_report shows "accuracy"
                                   rather than "micro avg" */
    double accuracy;
    int64_t *confusion;         /* n x n, row = true label, column = predicted */
    int64_t total;              /* number of pairs */
} met_cls_result;

/* Compute every metric over the pairs added so far (caller frees *out with
 * met_cls_result_free). scikit-learn's ValueErrors come back as AS_EINVAL
 * with its message: "Mix of label input types (string and number)",
 * "continuous is not supported", "Classification metrics can't handle a
 * mix of ... targets". An error that only concerns the binary average
 * ("Target is multiclass but average='binary'...", "pos_label=... is not a
 * valid label...") does not fail the call: it is in binary_error. */
int met_cls_compute(met_cls_result **out, const met_cls *c, const met_cls_opts *opts);
void met_cls_result_free(met_cls_result *r);

/* Python's str() of a label into out (at most cap bytes, NUL-terminated). */
void met_label_str(const met_label *l, char *out, size_t cap);

#endif
