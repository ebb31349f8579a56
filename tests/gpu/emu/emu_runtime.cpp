// The CUDA runtime calls of inc/cuda_runtime.h on the host: device memory
// is emu_alloc's guarded buffers, streams run their work at once in the
// order it is given, and a stream being captured records it instead, to
// run at each launch of the graph with the arguments of the capture.
//
// It checks what a device would refuse or get wrong: copies whose kind
// does not match where their pointers point, copies of pageable host
// memory in a graph capture, frees of what was never allocated, calls
// that are unsafe while this thread captures (they invalidate the
// capture, whose end then fails as on the device), work on the legacy
// stream during a capture, and (emu_launcher) kernel arguments that point
// at host memory. New device memory is filled with 0xff bytes (NaN in
// every float type) so reads of what was never written show. Violations
// are printed as they happen; a program that leaves any untaken exits
// with status 70.
#include <cuda_runtime.h>

#include "emu.h"

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <unistd.h>
#include <vector>

struct emu_stream {
    bool capturing;
    bool invalidated;        // an unsafe call happened during the capture
    std::vector<std::function<void()>> nodes;
};

struct emu_graph {
    std::vector<std::function<void()>> nodes;
};

struct emu_event {
    bool recorded;
    double ms;
};

// One device, used by one host thread at a time.
static std::recursive_mutex device;
static thread_local cudaStream_t capturing_here;
static cudaError_t last_error;
static unsigned long allocations;

static void check_at_exit(void)
{
    int v = emu_violations();

    if (v > 0) {
        fprintf(stderr, "CUDA emulator: %d violation%s\n", v, v == 1 ? "" : "s");
        fflush(NULL);
        _exit(70);
    }
}

__attribute__((constructor)) static void install_exit_check(void)
{
    atexit(check_at_exit);
}

static cudaError_t fail(cudaError_t e)
{
    last_error = e;
    return e;
}

// A call the device refuses during the capture on 's': the capture is
// invalidated (its end then fails) and the call fails.
static cudaError_t refuse_in_capture(cudaStream_t s)
{
    s->invalidated = true;
    return fail(cudaErrorStreamCaptureUnsupported);
}

// Whether this thread captures, in which case a synchronous call is
// refused.
static bool unsafe_in_capture(void)
{
    if (capturing_here == NULL)
        return false;
    refuse_in_capture(capturing_here);
    return true;
}

static double now_ms(void)
{
    using namespace std::chrono;

    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

void emu_submit(cudaStream_t s, std::function<void()> op)
{
    std::lock_guard<std::recursive_mutex> hold(device);

    if (s != NULL && s->capturing) {
        s->nodes.push_back(std::move(op));
        return;
    }
    if (s == NULL && capturing_here != NULL)
        emu_violation("work on the legacy default stream while this thread captures a graph");
    op();
}

cudaError_t cudaGetLastError(void)
{
    std::lock_guard<std::recursive_mutex> hold(device);
    cudaError_t e = last_error;

    last_error = cudaSuccess;
    return e;
}

const char *cudaGetErrorString(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorStreamCaptureUnsupported:
        return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated:
        return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureWrongThread:
        return "attempt to terminate a thread-local capture sequence from another thread";
    }
    return "unknown error";
}

cudaError_t cudaGetDeviceCount(int *n)
{
    *n = 1;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int *dev)
{
    *dev = 0;
    return cudaSuccess;
}

// An sm_90 device, so the engine takes its Hopper paths (PDL).
cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int dev)
{
    if (attr != cudaDevAttrComputeCapabilityMajor || dev != 0)
        return fail(cudaErrorInvalidValue);
    *value = 9;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev)
{
    if (dev != 0)
        return fail(cudaErrorInvalidValue);
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "CUDA emulator");
    p->totalGlobalMem = (size_t)80 << 30;
    p->major = 9;
    p->minor = 0;
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **p, size_t bytes)
{
    std::lock_guard<std::recursive_mutex> hold(device);
    char name[64];

    *p = NULL;
    if (unsafe_in_capture())
        return cudaErrorStreamCaptureUnsupported;
    if (bytes == 0)
        return fail(cudaErrorInvalidValue);
    snprintf(name, sizeof name, "cudaMalloc #%lu", ++allocations);
    *p = emu_alloc(bytes, name);
    memset(*p, 0xff, bytes);
    return cudaSuccess;
}

cudaError_t cudaFree(void *p)
{
    std::lock_guard<std::recursive_mutex> hold(device);

    if (unsafe_in_capture())
        return cudaErrorStreamCaptureUnsupported;
    if (p != NULL && !emu_free(p)) {
        emu_violation("cudaFree(%p): not a pointer cudaMalloc returned", p);
        return fail(cudaErrorInvalidDevicePointer);
    }
    return cudaSuccess;
}

// Whether dst and src lie where 'kind' says.
static bool copy_kind_ok(void *dst, const void *src, cudaMemcpyKind kind)
{
    bool dst_dev = emu_device_buffer(dst) != NULL, src_dev = emu_device_buffer(src) != NULL;
    bool ok = kind == cudaMemcpyHostToDevice   ? dst_dev && !src_dev
              : kind == cudaMemcpyDeviceToHost ? !dst_dev && src_dev
              : kind == cudaMemcpyDeviceToDevice ? dst_dev && src_dev
                                                 : !dst_dev && !src_dev;

    if (!ok)
        emu_violation("copy of kind %d from %s memory to %s memory", (int)kind,
                      src_dev ? "device" : "host", dst_dev ? "device" : "host");
    return ok;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind)
{
    std::lock_guard<std::recursive_mutex> hold(device);

    if (unsafe_in_capture())
        return cudaErrorStreamCaptureUnsupported;
    if (!copy_kind_ok(dst, src, kind))
        return fail(cudaErrorInvalidValue);
    memcpy(dst, src, bytes);
    return cudaSuccess;
}

// A copy to or from host memory cannot be captured: the runtime has no
// pinned host memory here (cudaMallocHost), and pageable memory is not
// allowed in a graph.
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t s)
{
    if (!copy_kind_ok(dst, src, kind))
        return fail(cudaErrorInvalidValue);
    if (s != NULL && s->capturing && kind != cudaMemcpyDeviceToDevice) {
        std::lock_guard<std::recursive_mutex> hold(device);

        return refuse_in_capture(s);
    }
    emu_submit(s, [=] { memcpy(dst, src, bytes); });
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    std::lock_guard<std::recursive_mutex> hold(device);

    return unsafe_in_capture() ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *s)
{
    *s = new emu_stream();
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned)
{
    return cudaStreamCreate(s);
}

cudaError_t cudaStreamDestroy(cudaStream_t s)
{
    std::lock_guard<std::recursive_mutex> hold(device);

    if (s == NULL || s->capturing)
        return fail(cudaErrorInvalidValue);
    delete s;
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t s)
{
    std::lock_guard<std::recursive_mutex> hold(device);

    if (s != NULL && s->capturing)
        return refuse_in_capture(s);
    return unsafe_in_capture() ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode)
{
    std::lock_guard<std::recursive_mutex> hold(device);

    if (s == NULL || s->capturing || capturing_here != NULL)
        return fail(cudaErrorInvalidValue);
    s->capturing = true;
    s->invalidated = false;
    s->nodes.clear();
    capturing_here = s;
    return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g)
{
    std::lock_guard<std::recursive_mutex> hold(device);

    *g = NULL;
    if (s == NULL || !s->capturing)
        return fail(cudaErrorInvalidValue);
    if (capturing_here != s)
        return fail(cudaErrorStreamCaptureWrongThread);
    s->capturing = false;
    capturing_here = NULL;
    if (s->invalidated) {
        s->nodes.clear();
        return fail(cudaErrorStreamCaptureInvalidated);
    }
    *g = new emu_graph{std::move(s->nodes)};
    s->nodes.clear();
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t g, unsigned long long)
{
    if (g == NULL)
        return fail(cudaErrorInvalidValue);
    *exec = new emu_graph{g->nodes};
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t g)
{
    delete g;
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec)
{
    delete exec;
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t s)
{
    if (exec == NULL)
        return fail(cudaErrorInvalidValue);
    emu_submit(s, [exec] {
        for (auto &node : exec->nodes)
            node();
    });
    return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *ev)
{
    *ev = new emu_event();
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t ev)
{
    delete ev;
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t ev, cudaStream_t s)
{
    if (ev == NULL)
        return fail(cudaErrorInvalidValue);
    emu_submit(s, [ev] {
        ev->recorded = true;
        ev->ms = now_ms();
    });
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t ev)
{
    std::lock_guard<std::recursive_mutex> hold(device);

    if (unsafe_in_capture())
        return cudaErrorStreamCaptureUnsupported;
    return ev != NULL ? cudaSuccess : fail(cudaErrorInvalidValue);
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t stop)
{
    if (start == NULL || stop == NULL || !start->recorded || !stop->recorded)
        return fail(cudaErrorInvalidValue);
    *ms = (float)(stop->ms - start->ms);
    return cudaSuccess;
}
