/* Internal to the sagemaker provider (sagemaker.c: settings, payloads,
 * real-time and streamed invocations; sagemaker_async.c: the asynchronous
 * flow through S3). Not a public header. */
#ifndef AS_SAGEMAKER_INTERNAL_H
#define AS_SAGEMAKER_INTERNAL_H

#include <jansson.h>

#include "evaluator/provider.h"
#include "evaluator/providers/aws_evstream.h"
#include "evaluator/providers/aws_prov.h"
#include "evaluator/providers/prov_common.h"

/* Container payload shapes. */
enum { SM_TGI = 0, SM_LMI = 1, SM_OPENAI = 2 };

typedef struct sm_prov {
    prov base;
    char *model_name;
    char *endpoint;             /* endpoint name */
    char *region_setting;       /* as given, may be NULL */
    char *endpoint_url;         /* --endpoint-url, may be NULL */
    int format;                 /* SM_* */
    int stream;
    int async;
    char *s3_bucket, *s3_prefix;    /* from s3_input (prefix without '/' at the ends) */
    char *target_variant, *inference_component, *custom_attributes;
    double async_timeout_s;     /* give up polling after this long */
    double async_poll_s;        /* first poll delay; doubles up to 10 s */
    /* from start(): */
    char *region;
    char *runtime_url;          /* runtime endpoint base */
    char *s3_url;               /* S3 endpoint base */
    int s3_custom;              /* path-style addressing on a custom S3 endpoint */
    char *control_url;          /* control plane (DescribeEndpoint) base */
    aws_creds creds;
    int started;
    /* cold start bookkeeping across the cases of one run (async) */
    int capacity_checked;       /* a case took on the DescribeEndpoint step */
    int capacity_known;         /* DescribeEndpoint answered: cold starts are told apart */
    int cold;                   /* 1: the endpoint had 0 instances at the start */
    double t_first_output;      /* monotonic ms of the run's first async output, 0 none */
    double t_first_invoked;     /* monotonic ms of the run's first accepted invocation */
    unsigned long seq;          /* for unique S3 keys */
} sm_prov;

/* Steps of one case. */
enum {
    SM_STEP_INVOKE = 0,         /* real-time InvokeEndpoint[WithResponseStream] */
    SM_STEP_DESCRIBE,           /* async: DescribeEndpoint (instance count) */
    SM_STEP_PUT,                /* async: PUT the payload to S3 */
    SM_STEP_ASYNC,              /* async: InvokeEndpointAsync */
    SM_STEP_POLL_OUT,           /* async: GET the output location */
    SM_STEP_POLL_FAIL           /* async: GET the failure location */
};

typedef struct sm_state {
    int step;
    aws_service svc;            /* what the current step signs for */
    /* streaming */
    aws_evstream ev;
    aws_lines lines;
    pc_stream stream;           /* stopped: the stream's own end marker was seen */
    int terminator_free;        /* a format with no end marker (LMI dynamic batch) */
    /* async */
    char *payload;              /* the request body, kept for the upload */
    size_t payload_len;
    char *input_key;            /* S3 key of the uploaded input */
    char *output_loc, *failure_loc;   /* s3:// or https:// URIs from the invoke */
    double t_start;             /* monotonic ms when the case began */
    double t_invoked;           /* when InvokeEndpointAsync was accepted */
    double poll_delay_ms;
    double latency_ms;          /* start to output, set when done */
} sm_state;

/* sagemaker.c: the model payload of 'call' for the container format
 * (caller frees); parse a complete (non-streamed) response body into res. */
char *sm_payload(const sm_prov *s, const prov_call *call, int stream, size_t *len);
int sm_parse_body(const sm_prov *s, const prov_call *call, const char *body, size_t len,
                  prov_result *res);

/* sagemaker.c: add the headers that pick the model behind the endpoint
 * and pass the caller's attributes (inference component, custom
 * attributes), where set; real-time and async invocations send both. */
int sm_add_model_headers(const sm_prov *s, prov_request *req);

/* sagemaker_async.c: the async steps. */
int sm_async_build(sm_prov *s, const prov_call *call, sm_state *st, prov_request *req);
int sm_async_parse(sm_prov *s, const prov_call *call, sm_state *st, const prov_response *resp,
                   prov_result *res);

#endif
