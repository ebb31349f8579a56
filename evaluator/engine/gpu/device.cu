// Device discovery, memory, streams, CUDA graphs and timers for the
// engine's GPU path (gpu.h): thin wrappers that turn CUDA errors into
// AS_EGPU with the CUDA message.
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern "C" {
#include "common/error.h"
#include "evaluator/engine/gpu/gpu.h"
}
#include "evaluator/engine/gpu/launch.cuh"
#include "evaluator/engine/gpu/stream.cuh"

struct eng_gpu_stream {
    cudaStream_t s;
    int pdl;                 // kernels on it may be programmatic dependents (launch.cuh)
};

struct eng_gpu_graph {
    cudaGraphExec_t exec;
};

// The calling thread's current stream (eng_gpu_stream_use); NULL: legacy.
static thread_local eng_gpu_stream *current;

cudaStream_t eng_gpu_cur_stream(void)
{
    return current != NULL ? current->s : 0;
}

static int gpu_check(cudaError_t e, const char *what)
{
    if (e != cudaSuccess)
        return as_error_set(AS_EGPU, "%s: %s", what, cudaGetErrorString(e));
    return 0;
}

extern "C" int eng_gpu_available(char *why, size_t size)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);

    if (e != cudaSuccess) {
        snprintf(why, size, "%s", cudaGetErrorString(e));
        return 0;
    }
    if (n == 0) {
        snprintf(why, size, "no CUDA device");
        return 0;
    }
    why[0] = '\0';
    return 1;
}

int eng_gpu_cur_pdl(void)
{
    return current != NULL && current->pdl;
}

// Whether a stream made now allows programmatic dependent launches: they
// need compute capability 9.0, and ASSAY_GPU_PDL=0 turns them off.
static int pdl_allowed(void)
{
    const char *env = getenv("ASSAY_GPU_PDL");
    int dev = 0, major = 0;

    if (env != NULL && strcmp(env, "0") == 0)
        return 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess)
        return 0;
    return major >= 9;
}

extern "C" int eng_gpu_describe(char *out, size_t size)
{
    cudaDeviceProp p;
    int rc;

    if ((rc = gpu_check(cudaGetDeviceProperties(&p, 0), "cudaGetDeviceProperties")) < 0)
        return rc;
    snprintf(out, size, "%s, %.1f GiB, sm_%d%d", p.name, (double)p.totalGlobalMem / (1 << 30),
             p.major, p.minor);
    return 0;
}

extern "C" int eng_gpu_alloc(void **d_ptr, size_t bytes)
{
    *d_ptr = NULL;
    return gpu_check(cudaMalloc(d_ptr, bytes ? bytes : 1), "cudaMalloc");
}

extern "C" void eng_gpu_free(void *d_ptr)
{
    if (d_ptr != NULL)
        cudaFree(d_ptr);
}

// A copy on the current stream, waited for: a pageable source may
// otherwise still be in flight when the call returns.
static int copy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, const char *what)
{
    cudaStream_t s = eng_gpu_cur_stream();
    int rc;

    if ((rc = gpu_check(cudaMemcpyAsync(dst, src, bytes, kind, s), what)) < 0)
        return rc;
    return gpu_check(cudaStreamSynchronize(s), what);
}

extern "C" int eng_gpu_upload(void *d_dst, const void *src, size_t bytes)
{
    return copy(d_dst, src, bytes, cudaMemcpyHostToDevice, "upload");
}

extern "C" int eng_gpu_download(void *dst, const void *d_src, size_t bytes)
{
    return copy(dst, d_src, bytes, cudaMemcpyDeviceToHost, "download");
}

extern "C" int eng_gpu_sync(void)
{
    return gpu_check(cudaDeviceSynchronize(), "kernel");
}

extern "C" int eng_gpu_stream_new(eng_gpu_stream **out)
{
    eng_gpu_stream *s = (eng_gpu_stream *)calloc(1, sizeof *s);
    int rc;

    *out = NULL;
    if (s == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = gpu_check(cudaStreamCreateWithFlags(&s->s, cudaStreamNonBlocking),
                        "cudaStreamCreate")) < 0) {
        free(s);
        return rc;
    }
    s->pdl = pdl_allowed();
    *out = s;
    return 0;
}

extern "C" void eng_gpu_stream_free(eng_gpu_stream *s)
{
    if (s == NULL)
        return;
    cudaStreamSynchronize(s->s);
    cudaStreamDestroy(s->s);
    free(s);
}

extern "C" eng_gpu_stream *eng_gpu_stream_use(eng_gpu_stream *s)
{
    eng_gpu_stream *prev = current;

    current = s;
    return prev;
}

extern "C" int eng_gpu_capture_begin(void)
{
    if (current == NULL)
        return as_error_set(AS_EINVAL, "graph capture: the legacy default stream cannot be "
                            "captured");
    // Thread-local: other threads' CUDA calls do not disturb the capture.
    return gpu_check(cudaStreamBeginCapture(current->s, cudaStreamCaptureModeThreadLocal),
                     "cudaStreamBeginCapture");
}

extern "C" int eng_gpu_capture_end(eng_gpu_graph **out, int keep)
{
    cudaGraph_t graph = NULL;
    cudaGraphExec_t exec = NULL;
    cudaError_t e;

    *out = NULL;
    if (current == NULL)
        return as_error_set(AS_EINVAL, "graph capture: no stream");
    e = cudaStreamEndCapture(current->s, &graph);
    if (e == cudaSuccess && keep)
        e = cudaGraphInstantiate(&exec, graph, 0);
    if (graph != NULL)
        cudaGraphDestroy(graph);
    if (e != cudaSuccess) {
        cudaGetLastError();          // a failed capture leaves no sticky error
        return as_error_set(AS_EGPU, "graph capture: %s", cudaGetErrorString(e));
    }
    if (!keep)
        return 0;
    if ((*out = (eng_gpu_graph *)calloc(1, sizeof **out)) == NULL) {
        cudaGraphExecDestroy(exec);
        return as_error_set(AS_ENOMEM, "out of memory");
    }
    (*out)->exec = exec;
    return 0;
}

extern "C" int eng_gpu_graph_launch(eng_gpu_graph *gr)
{
    return gpu_check(cudaGraphLaunch(gr->exec, eng_gpu_cur_stream()), "cudaGraphLaunch");
}

extern "C" void eng_gpu_graph_free(eng_gpu_graph *gr)
{
    if (gr == NULL)
        return;
    cudaGraphExecDestroy(gr->exec);
    free(gr);
}

struct eng_gpu_timer {
    cudaEvent_t start, stop;
};

extern "C" int eng_gpu_timer_new(eng_gpu_timer **out)
{
    eng_gpu_timer *t = (eng_gpu_timer *)calloc(1, sizeof *t);
    int rc;

    *out = NULL;
    if (t == NULL)
        return as_error_set(AS_ENOMEM, "out of memory");
    if ((rc = gpu_check(cudaEventCreate(&t->start), "cudaEventCreate")) < 0) {
        free(t);
        return rc;
    }
    if ((rc = gpu_check(cudaEventCreate(&t->stop), "cudaEventCreate")) < 0) {
        cudaEventDestroy(t->start);
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

extern "C" void eng_gpu_timer_free(eng_gpu_timer *t)
{
    if (t == NULL)
        return;
    cudaEventDestroy(t->start);
    cudaEventDestroy(t->stop);
    free(t);
}

extern "C" int eng_gpu_timer_start(eng_gpu_timer *t)
{
    return gpu_check(cudaEventRecord(t->start, eng_gpu_cur_stream()), "cudaEventRecord");
}

extern "C" int eng_gpu_timer_stop(eng_gpu_timer *t, double *ms)
{
    float f = 0.0f;
    int rc;

    *ms = 0.0;
    if ((rc = gpu_check(cudaEventRecord(t->stop, eng_gpu_cur_stream()), "cudaEventRecord")) < 0 ||
        (rc = gpu_check(cudaEventSynchronize(t->stop), "kernel")) < 0 ||
        (rc = gpu_check(cudaGetLastError(), "kernel")) < 0 ||
        (rc = gpu_check(cudaEventElapsedTime(&f, t->start, t->stop), "cudaEventElapsedTime")) < 0)
        return rc;
    *ms = f;
    return 0;
}
