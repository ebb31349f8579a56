/* Classification metrics against scikit-learn: every classification case
 * of cases.json (1.3+ values where they differ from 1.2.1), its errors,
 * label ordering and conversion rules. */
#include "tests/test.h"
#include "tests/metrics/fixture.h"
#include "metrics/classify.h"

static json_t *cases;

static void to_label(json_t *v, met_label *l)
{
    memset(l, 0, sizeof(*l));
    if (json_is_string(v)) {
        l->kind = MET_LABEL_STR;
        l->s = json_string_value(v);
        l->len = json_string_length(v);
    } else if (json_is_integer(v)) {
        l->kind = MET_LABEL_INT;
        l->i = json_integer_value(v);
    } else if (json_is_real(v)) {
        l->kind = MET_LABEL_FLOAT;
        l->d = json_real_value(v);
    } else {
        l->kind = MET_LABEL_BOOL;
        l->i = json_is_true(v);
    }
}

static met_cls *fill(json_t *yt, json_t *yp)
{
    met_cls *c;
    size_t i;

    if (met_cls_new(&c) < 0)
        return NULL;
    for (i = 0; i < json_array_size(yt); i++) {
        met_label t, p;
        to_label(json_array_get(yt, i), &t);
        to_label(json_array_get(yp, i), &p);
        T_OK(met_cls_add(c, &t, &p));
    }
    return c;
}

static void near(const char *id, const char *what, double got, json_t *want)
{
    double w = json_number_value(want);

    if (want == NULL || !(fabs(got - w) <= 1e-12)) {
        fprintf(stderr, "  %s %s: got %.17g want %.17g\n", id, what, got, w);
        t_failed_checks++;
    }
}

static void check_avg(const char *id, const char *name, const met_cls_avg *a, json_t *want)
{
    char what[64];

    snprintf(what, sizeof(what), "%s.precision", name);
    near(id, what, a->precision, json_object_get(want, "precision"));
    snprintf(what, sizeof(what), "%s.recall", name);
    near(id, what, a->recall, json_object_get(want, "recall"));
    snprintf(what, sizeof(what), "%s.f1", name);
    near(id, what, a->f1, json_object_get(want, "f1"));
}

static void classify__every_case_matches_sklearn(void)
{
    json_t *list = json_object_get(cases, "classification"), *c;
    size_t i, k, count = 0;

    T_CHECK(json_array_size(list) == 50);
    json_array_foreach(list, i, c) {
        const char *id = json_string_value(json_object_get(c, "id"));
        json_t *exp = json_object_get(c, "expected");
        json_t *modern = json_object_get(c, "expected_modern_emulated");
        json_t *jl = json_object_get(c, "labels"), *zd = json_object_get(c, "zero_division");
        json_t *order = json_object_get(exp, "labels_order");
        met_label labels[32], pos;
        met_cls_opts o = {NULL, 0, &pos, 0};
        met_cls_result *r = NULL;
        met_cls *acc = fill(json_object_get(c, "y_true"), json_object_get(c, "y_pred"));

        to_label(json_object_get(c, "pos_label"), &pos);
        if (json_is_array(jl)) {
            for (k = 0; k < json_array_size(jl) && k < 32; k++)
                to_label(json_array_get(jl, k), &labels[k]);
            o.labels = labels;
            o.nlabels = json_array_size(jl);
        }
        o.zero_division = json_is_integer(zd) ? (int)json_integer_value(zd) : 0;
        T_OK(met_cls_compute(&r, acc, &o));
        if (r == NULL) {
            met_cls_free(acc);
            continue;
        }
        T_EQ_INT(r->n, json_array_size(order));
        for (k = 0; k < r->n && k < json_array_size(order); k++) {
            met_label want;
            char a[128], b[128];
            to_label(json_array_get(order, k), &want);
            met_label_str(&r->labels[k], a, sizeof(a));
            met_label_str(&want, b, sizeof(b));
            if (strcmp(a, b) != 0) {
                fprintf(stderr, "  %s label %zu: %s want %s\n", id, k, a, b);
                t_failed_checks++;
            }
            near(id, "per_class.precision", r->precision[k],
                 json_array_get(json_object_get(json_object_get(modern, "per_class"), "precision"), k));
            near(id, "per_class.recall", r->recall[k],
                 json_array_get(json_object_get(json_object_get(modern, "per_class"), "recall"), k));
            near(id, "per_class.f1", r->f1[k],
                 json_array_get(json_object_get(json_object_get(modern, "per_class"), "f1"), k));
            T_EQ_INT(r->support[k], json_integer_value(json_array_get(
                                        json_object_get(json_object_get(exp, "per_class"), "support"), k)));
        }
        check_avg(id, "micro", &r->micro, json_object_get(modern, "micro"));
        check_avg(id, "macro", &r->macro, json_object_get(modern, "macro"));
        check_avg(id, "weighted", &r->weighted, json_object_get(modern, "weighted"));
        near(id, "accuracy", r->accuracy, json_object_get(exp, "accuracy"));
        {
            json_t *bin = json_object_get(exp, "binary");
            json_t *err = json_object_get(bin, "error");
            if (err) {
                const char *msg = json_string_value(err) + strlen("ValueError: ");
                T_CHECK(!r->has_binary);
                if (strcmp(r->binary_error, msg) != 0) {
                    fprintf(stderr, "  %s binary error: %s\n  want %s\n", id, r->binary_error, msg);
                    t_failed_checks++;
                }
            } else {
                T_CHECK(r->has_binary);
                check_avg(id, "binary", &r->binary, json_object_get(modern, "binary"));
            }
        }
        /* classification_report: "accuracy" vs "micro avg". */
        T_EQ_INT(r->report_accuracy,
                 json_object_get(json_object_get(exp, "classification_report"), "accuracy") != NULL);
        count++;
        met_cls_result_free(r);
        met_cls_free(acc);
    }
    T_EQ_INT(count, 50);
}

static void classify__confusion_matrix_rows_are_true_labels(void)
{
    met_cls *c;
    met_cls_result *r = NULL;
    const char *t[] = {"cat", "dog", "cat", "pig"}, *p[] = {"dog", "dog", "cat", "cat"};
    size_t i;

    T_OK(met_cls_new(&c));
    for (i = 0; i < 4; i++)
        T_OK(met_cls_add_str(c, t[i], strlen(t[i]), p[i], strlen(p[i])));
    T_OK(met_cls_compute(&r, c, NULL));
    T_EQ_INT(r->n, 3);
    T_EQ_STR(r->names[0], "cat");
    T_EQ_INT(r->confusion[0 * 3 + 0], 1);   /* cat -> cat */
    T_EQ_INT(r->confusion[0 * 3 + 1], 1);   /* cat -> dog */
    T_EQ_INT(r->confusion[2 * 3 + 0], 1);   /* pig -> cat */
    T_EQ_INT(r->confusion[1 * 3 + 1], 1);
    T_EQ_INT(met_cls_count(c), 4);
    met_cls_result_free(r);
    met_cls_free(c);
}

static void classify__type_errors_as_sklearn(void)
{
    met_cls *c;
    met_cls_result *r = NULL;
    met_label s = {MET_LABEL_STR, "a", 1, 0, 0}, n = {MET_LABEL_INT, NULL, 0, 1, 0};
    met_label f = {MET_LABEL_FLOAT, NULL, 0, 0, 0.5}, f2 = {MET_LABEL_FLOAT, NULL, 0, 0, 2.0};

    T_OK(met_cls_new(&c));
    T_OK(met_cls_add(c, &s, &n));
    T_ERR(met_cls_compute(&r, c, NULL), AS_EINVAL);
    T_EQ_STR(as_error_msg(), "Mix of label input types (string and number)");
    met_cls_free(c);

    T_OK(met_cls_new(&c));
    T_OK(met_cls_add(c, &f, &f));
    T_ERR(met_cls_compute(&r, c, NULL), AS_EINVAL);
    T_EQ_STR(as_error_msg(), "continuous is not supported");
    met_cls_free(c);

    T_OK(met_cls_new(&c));
    T_OK(met_cls_add(c, &n, &f));
    T_ERR(met_cls_compute(&r, c, NULL), AS_EINVAL);
    T_EQ_STR(as_error_msg(), "Classification metrics can't handle a mix of binary and continuous targets");
    met_cls_free(c);

    /* int and integral float labels merge as floats: str "1.0". */
    T_OK(met_cls_new(&c));
    T_OK(met_cls_add(c, &n, &f2));
    T_OK(met_cls_compute(&r, c, NULL));
    T_EQ_INT(r->n, 2);
    T_EQ_STR(r->names[0], "1.0");
    T_EQ_STR(r->names[1], "2.0");
    met_cls_result_free(r);
    met_cls_free(c);

    /* A side with a string converts its numbers: 1 -> "1", true -> "True". */
    T_OK(met_cls_new(&c));
    T_OK(met_cls_add(c, &s, &s));
    T_OK(met_cls_add(c, &n, &s));
    {
        met_label b = {MET_LABEL_BOOL, NULL, 0, 1, 0};
        T_OK(met_cls_add(c, &b, &s));
    }
    T_OK(met_cls_compute(&r, c, NULL));
    T_EQ_INT(r->n, 3);
    T_EQ_STR(r->names[0], "1");
    T_EQ_STR(r->names[1], "True");
    T_EQ_STR(r->names[2], "a");
    met_cls_result_free(r);
    r = NULL;
    {
        met_cls_opts bad = {NULL, 0, NULL, 7};
        T_ERR(met_cls_compute(&r, c, &bad), AS_EINVAL);
    }
    met_cls_free(c);

    T_OK(met_cls_new(&c));
    T_ERR(met_cls_compute(&r, c, NULL), AS_EINVAL);
    met_cls_free(c);
}

static void classify__zero_division_nan_skips_in_averages(void)
{
    met_cls *c;
    met_cls_result *r = NULL;
    met_label l0 = {MET_LABEL_INT, NULL, 0, 0, 0}, l1 = {MET_LABEL_INT, NULL, 0, 1, 0};
    met_cls_opts o = {NULL, 0, NULL, MET_ZD_NAN};

    T_OK(met_cls_new(&c));
    T_OK(met_cls_add(c, &l0, &l0));
    T_OK(met_cls_add(c, &l1, &l0));
    T_OK(met_cls_compute(&r, c, &o));
    T_CHECK(isnan(r->precision[1]));        /* label 1 never predicted */
    T_NEAR(r->macro.precision, 0.5, 0);     /* NaN skipped: mean of {0.5} */
    met_cls_result_free(r);
    met_cls_free(c);
}

static void classify__python_float_names(void)
{
    char b[64];
    met_label l = {MET_LABEL_FLOAT, NULL, 0, 0, 1e16};

    met_label_str(&l, b, sizeof(b));
    T_EQ_STR(b, "1e+16");
    l.d = 0.0001;
    met_label_str(&l, b, sizeof(b));
    T_EQ_STR(b, "0.0001");
    l.d = 1.5e-5;
    met_label_str(&l, b, sizeof(b));
    T_EQ_STR(b, "1.5e-05");
    l.d = -3.0;
    met_label_str(&l, b, sizeof(b));
    T_EQ_STR(b, "-3.0");
    l.d = 0.1;
    met_label_str(&l, b, sizeof(b));
    T_EQ_STR(b, "0.1");
    l.d = 123456.75;
    met_label_str(&l, b, sizeof(b));
    T_EQ_STR(b, "123456.75");
}

int main(void)
{
    if ((cases = t_load_cases()) == NULL)
        return 1;
    T_RUN(classify__every_case_matches_sklearn);
    T_RUN(classify__confusion_matrix_rows_are_true_labels);
    T_RUN(classify__type_errors_as_sklearn);
    T_RUN(classify__zero_division_nan_skips_in_averages);
    T_RUN(classify__python_float_names);
    json_decref(cases);
    return t_done();
}
