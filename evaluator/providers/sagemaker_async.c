/* SageMaker asynchronous inference (reference/PROVIDERS.md A2, async flow):
 *
 *   DescribeEndpoint (first case of a run only: is the endpoint at zero
 *   instances?) -> PUT the payload to S3 -> InvokeEndpointAsync (202 with the
 *   output and failure locations) -> GET the output location until it
 *   exists, checking the failure location in between, with a doubling delay
 *   (async_poll, up to 10 s) until async_timeout.
 *
 * Each step is one request of the provider interface's multi-step flow
 * (PROV_STEP_NEXT). A retried step rebuilds the same request. The latency
 * of a case runs from its upload to the output's arrival; when the endpoint
 * had no instance at the start of the run, the calls invoked before its
 * first answer report the time they spent waiting for it (cold_start_ms). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/error.h"
#include "common/json.h"
#include "common/log.h"
#include "common/rand.h"
#include "common/sha256.h"
#include "evaluator/providers/sagemaker_internal.h"

#define POLL_MAX_MS 10000.0   /* the latency resolution of a long wait */

/* The https URL of s3://bucket/key ('key' raw, encoded here): path-style on
 * a custom endpoint or for buckets with dots, virtual-hosted otherwise. */
static char *s3_object_url(const sm_prov *s, const char *bucket, const char *key)
{
    as_buf b;
    int rc;

    as_buf_init(&b, 16384);
    if (s->s3_custom || strchr(bucket, '.'))
        rc = as_buf_printf(&b, "%s/%s/", s->s3_url, bucket);
    else
        rc = as_buf_printf(&b, "https://%s.s3.%s.amazonaws.com/", bucket, s->region);
    if (rc == 0)
        rc = aws_uri_encode(&b, key, strlen(key), 1);
    if (rc < 0) {
        as_buf_free(&b);
        return NULL;
    }
    return as_buf_detach(&b);
}

/* A location header value (s3://bucket/key or an https URL) as a URL. */
static char *location_url(const sm_prov *s, const char *loc)
{
    const char *slash;
    char *bucket, *url;

    if (strncmp(loc, "https://", 8) == 0 || strncmp(loc, "http://", 7) == 0)
        return strdup(loc);
    if (strncmp(loc, "s3://", 5) != 0 || (slash = strchr(loc + 5, '/')) == NULL)
        return NULL;
    if ((bucket = strndup(loc + 5, (size_t)(slash - loc - 5))) == NULL)
        return NULL;
    url = s3_object_url(s, bucket, slash + 1);
    free(bucket);
    return url;
}

static int new_input_key(sm_prov *s, sm_state *st)
{
    unsigned char r[8];
    char hex[17];
    as_buf b;

    if (as_random_bytes(r, sizeof(r)) < 0)
        return AS_ERROR;
    as_hex(r, sizeof(r), hex);
    as_buf_init(&b, 4096);
    if (as_buf_printf(&b, "%s%sassay-%s-%ld-%lu-%s.json", s->s3_prefix, *s->s3_prefix ? "/" : "",
                      s->endpoint, (long)getpid(), ++s->seq, hex) < 0) {
        as_buf_free(&b);
        return AS_ETOOBIG;
    }
    st->input_key = as_buf_detach(&b);
    return 0;
}

int sm_async_build(sm_prov *s, const prov_call *call, sm_state *st, prov_request *req)
{
    char *url = NULL;
    as_buf b;
    int rc = 0;

    switch (st->step) {
    case SM_STEP_DESCRIBE: {
        char *body;
        json_t *o = json_pack("{s:s}", "EndpointName", s->endpoint);
        body = o ? as_json_dump(o) : NULL;
        json_decref(o);
        if (body == NULL || asprintf(&url, "%s/", s->control_url) < 0) {
            free(body);
            return as_error_set(AS_ENOMEM, "out of memory");
        }
        st->svc = AWS_SAGEMAKER;
        memcpy(req->method, "POST", 5);
        req->url = url;
        prov_request_take_body(req, body, strlen(body));
        rc = prov_request_add_header(req, "Content-Type: application/x-amz-json-1.1");
        if (rc == 0)
            rc = prov_request_add_header(req, "X-Amz-Target: SageMaker.DescribeEndpoint");
        return rc;
    }
    case SM_STEP_PUT:
        if (st->payload == NULL) {
            if ((st->payload = sm_payload(s, call, 0, &st->payload_len)) == NULL)
                return as_error_set(AS_ENOMEM, "out of memory");
            if ((rc = new_input_key(s, st)) < 0)
                return rc;
            st->t_start = as_clock_ms();
        }
        if ((url = s3_object_url(s, s->s3_bucket, st->input_key)) == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        st->svc = AWS_S3;
        memcpy(req->method, "PUT", 4);
        req->url = url;
        if ((req->body = malloc(st->payload_len + 1)) == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        memcpy(req->body, st->payload, st->payload_len + 1);
        req->body_len = st->payload_len;
        return prov_request_add_header(req, "Content-Type: application/json");
    case SM_STEP_ASYNC:
        as_buf_init(&b, 8192);
        rc = as_buf_printf(&b, "%s/endpoints/", s->runtime_url);
        if (rc == 0)
            rc = aws_uri_encode(&b, s->endpoint, strlen(s->endpoint), 0);
        if (rc == 0)
            rc = as_buf_puts(&b, "/async-invocations");
        if (rc < 0) {
            as_buf_free(&b);
            return rc;
        }
        st->svc = AWS_SAGEMAKER_RUNTIME;
        memcpy(req->method, "POST", 5);
        req->url = as_buf_detach(&b);
        rc = prov_request_add_header(req, "X-Amzn-SageMaker-InputLocation: s3://%s/%s",
                                     s->s3_bucket, st->input_key);
        if (rc == 0)
            rc = prov_request_add_header(req, "X-Amzn-SageMaker-Content-Type: application/json");
        if (rc == 0)
            rc = prov_request_add_header(req, "X-Amzn-SageMaker-Accept: application/json");
        if (rc == 0)
            rc = prov_request_add_header(req, "X-Amzn-SageMaker-InvocationTimeoutSeconds: %d",
                                         s->async_timeout_s < 3600 ? (int)s->async_timeout_s
                                                                   : 3600);
        return rc == 0 ? sm_add_model_headers(s, req) : rc;
    case SM_STEP_POLL_OUT:
    case SM_STEP_POLL_FAIL:
        url = location_url(s, st->step == SM_STEP_POLL_OUT ? st->output_loc : st->failure_loc);
        if (url == NULL)
            return as_error_set(AS_EINVAL, "sagemaker: unusable async location");
        st->svc = AWS_S3;
        memcpy(req->method, "GET", 4);
        req->url = url;
        return 0;
    default:
        return as_error_set(AS_ERROR, "sagemaker: bad async step %d", st->step);
    }
}

/* Schedule the next poll of the output, or give up at the deadline. */
static int poll_again(sm_prov *s, sm_state *st, prov_result *res)
{
    double waited = as_clock_ms() - st->t_invoked;

    if (waited > s->async_timeout_s * 1000) {
        prov_result_fail(res, AS_ETIMEOUT, PROV_RETRY_NO,
                         "sagemaker: no async output after %.0f s (async_timeout)",
                         waited / 1000);
        return PROV_STEP_DONE;
    }
    st->step = SM_STEP_POLL_OUT;
    st->poll_delay_ms = st->poll_delay_ms * 2 < POLL_MAX_MS ? st->poll_delay_ms * 2 : POLL_MAX_MS;
    res->next_delay_ms = st->poll_delay_ms;
    return PROV_STEP_NEXT;
}

/* The output exists: the answer, its latency and its share of a cold start. */
static int got_output(sm_prov *s, const prov_call *call, sm_state *st, const prov_response *resp,
                      prov_result *res)
{
    double now = as_clock_ms();
    int step;

    if (s->t_first_output == 0) {
        s->t_first_output = now;
        if (s->cold)
            as_log_info("sagemaker %s: cold start: the endpoint had no instance; its first "
                        "answer came %.1f s after the first invocation", s->endpoint,
                        (now - s->t_first_invoked) / 1000);
    }
    if (resp->body_truncated) {
        prov_result_fail(res, AS_ETOOBIG, PROV_RETRY_NO, "sagemaker: async output over %zu bytes",
                         (size_t)PROV_BODY_MAX);
        return PROV_STEP_DONE;
    }
    step = sm_parse_body(s, call, resp->body, resp->body_len, res);
    res->latency_ms = now - st->t_start;
    if (s->capacity_known)
        res->cold_start_ms = s->cold && st->t_invoked <= s->t_first_output
                                 ? s->t_first_output - st->t_invoked : 0;
    return step;
}

static int is_missing(const prov_response *resp)
{
    return resp->status == 404;     /* NoSuchKey: not written yet */
}

int sm_async_parse(sm_prov *s, const prov_call *call, sm_state *st, const prov_response *resp,
                   prov_result *res)
{
    int ok = resp->status >= 200 && resp->status < 300;
    char loc[2048];

    switch (st->step) {
    case SM_STEP_DESCRIBE:
        /* Best effort: without the permission or the answer, cold starts
         * are simply not told apart. */
        if (ok) {
            json_t *root = NULL, *pv, *v;
            size_t i;
            long long n = 0;
            if (as_json_parse(&root, resp->body, resp->body_len, "DescribeEndpoint") == 0 &&
                json_is_array(pv = json_object_get(root, "ProductionVariants"))) {
                json_array_foreach(pv, i, v) {
                    json_t *c = json_object_get(v, "CurrentInstanceCount");
                    if (json_is_integer(c) && json_integer_value(c) > 0)
                        n = json_integer_value(c) > LLONG_MAX - n ? LLONG_MAX
                                                                  : n + json_integer_value(c);
                }
                s->cold = n == 0;
                s->capacity_known = 1;
                as_log_debug("sagemaker %s: %lld instances at the start of the run", s->endpoint, n);
            }
            json_decref(root);
        } else {
            as_log_debug("sagemaker %s: DescribeEndpoint answered %ld; cold starts not measured",
                         s->endpoint, resp->status);
        }
        st->step = SM_STEP_PUT;
        return PROV_STEP_NEXT;
    case SM_STEP_PUT:
        if (!ok) {
            aws_prov_http_error(res, "s3 upload", resp);
            return PROV_STEP_DONE;
        }
        st->step = SM_STEP_ASYNC;
        return PROV_STEP_NEXT;
    case SM_STEP_ASYNC:
        if (!ok) {
            aws_prov_http_error(res, "sagemaker", resp);
            return PROV_STEP_DONE;
        }
        if (!prov_header_get(resp->headers, "X-Amzn-SageMaker-OutputLocation", loc, sizeof(loc))) {
            prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_NO,
                             "sagemaker: async invocation answered without an output location");
            return PROV_STEP_DONE;
        }
        free(st->output_loc);
        free(st->failure_loc);
        st->failure_loc = NULL;
        if ((st->output_loc = strdup(loc)) == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        if (prov_header_get(resp->headers, "X-Amzn-SageMaker-FailureLocation", loc, sizeof(loc)) &&
            (st->failure_loc = strdup(loc)) == NULL)
            return as_error_set(AS_ENOMEM, "out of memory");
        st->t_invoked = as_clock_ms();
        if (s->t_first_invoked == 0)
            s->t_first_invoked = st->t_invoked;
        st->poll_delay_ms = s->async_poll_s * 1000;
        st->step = SM_STEP_POLL_OUT;
        res->next_delay_ms = st->poll_delay_ms;
        return PROV_STEP_NEXT;
    case SM_STEP_POLL_OUT:
        if (ok)
            return got_output(s, call, st, resp, res);
        if (!is_missing(resp)) {
            aws_prov_http_error(res, "s3 output", resp);
            return PROV_STEP_DONE;
        }
        if (st->failure_loc) {
            st->step = SM_STEP_POLL_FAIL;
            return PROV_STEP_NEXT;
        }
        return poll_again(s, st, res);
    case SM_STEP_POLL_FAIL:
        if (ok) {
            /* the failure object holds the container's error text */
            prov_result_fail(res, AS_EUPSTREAM, PROV_RETRY_NO,
                             "sagemaker: async inference failed: %.300s",
                             resp->body_len ? resp->body : "(empty failure object)");
            return PROV_STEP_DONE;
        }
        if (!is_missing(resp)) {
            aws_prov_http_error(res, "s3 failure", resp);
            return PROV_STEP_DONE;
        }
        return poll_again(s, st, res);
    default:
        return as_error_set(AS_ERROR, "sagemaker: bad async step %d", st->step);
    }
}
