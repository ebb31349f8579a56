// Host emulation of the CUDA execution model, enough to run the engine's
// and the metrics' kernels compiled as C++ (cu2cpp.py; inc/ holds the
// stand-in headers) and check their indexing, bounds and launch-order
// contract on a machine without a GPU. emu_runtime.cpp queues the
// launches on streams and graphs; this file runs them.
//
// A launch runs its blocks one after another; within a block each CUDA
// thread is a fiber (made with ucontext once, then switched with
// _setjmp/_longjmp, which unlike swapcontext make no system call), switched
// only at barriers (__syncthreads, warp shuffles and votes, pdl_enter), so
// a missing barrier or a thread that skips one is seen as a deadlock or a
// violation. Every device buffer sits between guard pages: an access
// outside it faults, and the SIGSEGV handler names the kernel (or host
// code), block, thread, buffer and offset, then exits. For kernels
// launched as programmatic dependents all buffers are PROT_NONE until
// every thread of the block has called pdl_enter (in every block, or the
// first of each launch: emu_set_lock_every_block), so an access before it
// faults and is reported; so is a thread that returns without calling it.

// glibc's fortified longjmp refuses to jump between stacks, which is how
// the fibers switch.
#undef _FORTIFY_SOURCE

#include <cuda_runtime.h>

#include "emu.h"

#include <csetjmp>
#include <csignal>
#include <cstdarg>
#include <cstdlib>
#include <mutex>
#include <string>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include <vector>

#ifdef __CUDA_RUNTIME_H__
#error "CUDA's cuda_runtime.h was included instead of the emulator's"
#endif

uint3e threadIdx, blockIdx;
dim3 gridDim, blockDim;

// --- Device buffers between guard pages --------------------------------

struct Region {
    char *base;        // mapping: guard page, data pages, guard page
    size_t pages;      // data pages
    char *data;        // first data page
    char *user;        // what emu_alloc returned
    size_t size;       // bytes asked for
    std::string name;
};

static std::vector<Region> regions;
static size_t page_size;
static bool start_aligned;
static volatile bool buffers_locked;

void emu_set_start_aligned(bool on)
{
    start_aligned = on;
}

static void install_fault_handler(void);

void *emu_alloc(size_t bytes, const char *name)
{
    size_t padded = std::max<size_t>((bytes + 15) / 16 * 16, 16);
    size_t pages;
    char *base;
    char *data;

    install_fault_handler();
    if (!page_size)
        page_size = (size_t)sysconf(_SC_PAGESIZE);
    pages = (padded + page_size - 1) / page_size;
    base = (char *)mmap(NULL, (pages + 2) * page_size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    mprotect(base, page_size, PROT_NONE);
    mprotect(base + (pages + 1) * page_size, page_size, PROT_NONE);
    data = base + page_size;
    regions.push_back({base, pages, data, start_aligned ? data : data + pages * page_size - padded,
                       bytes, name});
    return regions.back().user;
}

void emu_free_all(void)
{
    for (auto &r : regions)
        munmap(r.base, (r.pages + 2) * page_size);
    regions.clear();
}

bool emu_free(void *p)
{
    for (size_t i = 0; i < regions.size(); i++)
        if (regions[i].user == p) {
            munmap(regions[i].base, (regions[i].pages + 2) * page_size);
            regions.erase(regions.begin() + (long)i);
            return true;
        }
    return false;
}

const char *emu_device_buffer(const void *p)
{
    const char *a = (const char *)p;

    for (auto &r : regions)
        if (a >= r.user && a <= r.user + r.size)
            return r.name.c_str();
    return NULL;
}

static void lock_buffers(bool on)
{
    if (on == buffers_locked)
        return;
    for (auto &r : regions)
        mprotect(r.data, r.pages * page_size, on ? PROT_NONE : PROT_READ | PROT_WRITE);
    buffers_locked = on;
}

// --- Fibers and barriers -------------------------------------------------

enum { MAX_THREADS = 1024, WARP = 32, MAX_WARPS = MAX_THREADS / WARP };
// Dynamic shared memory: without and with cudaFuncSetAttribute (sm_90).
enum { DEFAULT_DYN_SMEM = 48 * 1024, MAX_DYN_SMEM = 227 * 1024 };
static const size_t STACK_BYTES = 256 * 1024;

struct Fiber {
    jmp_buf at;        // where it resumes
    bool started;
    bool done;
    bool entered;      // called pdl_enter
};

// A barrier of 'expected' fibers; 'gen' counts its completions. The PDL
// barrier unlocks the buffers when it completes.
struct Barrier {
    int expected;
    int arrived;
    unsigned gen;
    bool pdl;
};

static Fiber fibers[MAX_THREADS];
static char *stacks;
static jmp_buf scheduler;
static int cur;
static long progress;  // barrier events; unchanged over a sweep means deadlock
static const std::function<void()> *cur_body;
static bool cur_pdl;
static const char *cur_name;
static int order = -1;       // 0 first to last, 1 last to first, -1 chosen per launch
static bool reverse;         // this launch's
static unsigned long launches;
static bool lock_every_block;
static Barrier block_bar, warp_bar[MAX_WARPS], pdl_bar;
static uint64_t warp_vals[MAX_WARPS][WARP];
static int exited_block, exited_warp[MAX_WARPS];
static int violations;

void emu_set_reverse(bool on)
{
    order = on;
}

void emu_set_lock_every_block(bool on)
{
    lock_every_block = on;
}

int emu_take_violations(void)
{
    int v = violations;

    violations = 0;
    return v;
}

void emu_violation(const char *fmt, ...)
{
    va_list ap;

    violations++;
    fprintf(stderr, "VIOLATION [");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "]\n");
}

// A violation by the running thread of the running kernel.
static void report(const char *what)
{
    emu_violation("%s in %s: block (%u,%u,%u) thread %d", what, cur_name, blockIdx.x, blockIdx.y,
                  blockIdx.z, cur);
}

int emu_violations(void)
{
    return violations;
}

void emu_check_pointer(const void *p, const char *kernel, int arg)
{
    if (p != NULL && emu_device_buffer(p) == NULL)
        emu_violation("argument %d of %s points outside device memory: %p", arg, kernel, p);
}

void emu_misaligned(const void *)
{
    report("misaligned 16-byte vector load");
}

static void yield(void)
{
    if (!_setjmp(fibers[cur].at))
        _longjmp(scheduler, 1);
}

static void complete(Barrier &b)
{
    b.arrived = 0;
    b.gen++;
    progress++;
    if (b.pdl)
        lock_buffers(false);
}

static void barrier_wait(Barrier &b)
{
    unsigned gen = b.gen;

    progress++;
    if (++b.arrived >= b.expected) {
        complete(b);
        return;
    }
    while (b.gen == gen)
        yield();
}

// A fiber that returned no longer counts towards 'b'.
static void barrier_drop(Barrier &b)
{
    b.expected--;
    progress++;
    if (b.arrived > 0 && b.arrived >= b.expected)
        complete(b);
    else if (b.expected == 0 && b.pdl)
        lock_buffers(false);
}

void emu_syncthreads(void)
{
    if (exited_block)
        report("__syncthreads after some thread of the block returned");
    if (cur_pdl && !fibers[cur].entered)
        report("__syncthreads before pdl_enter");
    barrier_wait(block_bar);
}

// All 32 lanes publish their value, then read their source lane's.
uint64_t emu_shfl(uint64_t v, int mode, int arg)
{
    int w = cur / WARP, lane = cur % WARP;
    uint64_t r;

    if (exited_warp[w])
        report("warp shuffle or vote after a lane of the warp returned");
    warp_vals[w][lane] = v;
    barrier_wait(warp_bar[w]);
    if (mode == EMU_SHFL_IDX)
        r = warp_vals[w][arg & (WARP - 1)];
    else if (mode == EMU_SHFL_XOR)
        r = warp_vals[w][(lane ^ arg) & (WARP - 1)];
    else
        r = lane + arg < WARP ? warp_vals[w][lane + arg] : v;
    barrier_wait(warp_bar[w]);
    return r;
}

// All 32 lanes publish their predicate; each gets the mask of all.
unsigned emu_ballot(bool pred)
{
    int w = cur / WARP, lane = cur % WARP;
    unsigned mask = 0;

    if (exited_warp[w])
        report("warp vote after a lane of the warp returned");
    warp_vals[w][lane] = pred;
    barrier_wait(warp_bar[w]);
    for (int i = 0; i < WARP; i++)
        mask |= (unsigned)(warp_vals[w][i] != 0) << i;
    barrier_wait(warp_bar[w]);
    return mask;
}

void emu_pdl_enter(void)
{
    if (!cur_pdl || fibers[cur].entered)
        return;
    fibers[cur].entered = true;
    barrier_wait(pdl_bar);
}

static void finish(int i)
{
    fibers[i].done = true;
    progress++;
    exited_block++;
    exited_warp[i / WARP]++;
    barrier_drop(warp_bar[i / WARP]);
    barrier_drop(block_bar);
    if (cur_pdl && !fibers[i].entered) {
        report("return before pdl_enter");
        barrier_drop(pdl_bar);
    }
}

// Fiber i is thread i of every block of every launch: it runs the
// kernel, then waits to be resumed for the next block.
static void fiber_main(int i)
{
    for (;;) {
        (*cur_body)();
        finish(i);
        yield();
    }
}

// Run fiber i until it waits or returns; the first time, start it on its
// own stack.
static void resume(int i)
{
    static ucontext_t boot, first;

    if (_setjmp(scheduler))
        return;
    if (fibers[i].started)
        _longjmp(fibers[i].at, 1);
    fibers[i].started = true;
    getcontext(&first);
    first.uc_stack.ss_sp = stacks + (size_t)i * STACK_BYTES;
    first.uc_stack.ss_size = STACK_BYTES;
    first.uc_link = NULL;
    makecontext(&first, (void (*)())fiber_main, 1, i);
    swapcontext(&boot, &first);
}

// --- Faults ----------------------------------------------------------------

// Async-signal-safe: format into a buffer and write(2) it.
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0 && write(2, buf, std::min((size_t)n, sizeof buf - 1)) < 0)
        _exit(4);
}

// A fault on a locked buffer is an access before pdl_enter: report it,
// unlock and let the access run again. Any other fault ends the test.
static void on_fault(int, siginfo_t *si, void *)
{
    char *a = (char *)si->si_addr;
    const char *who = cur_name ? cur_name : "host code";

    for (auto &r : regions) {
        if (buffers_locked && a >= r.data && a < r.data + r.pages * page_size) {
            say("VIOLATION [memory access before pdl_enter] in %s: block (%u,%u,%u) thread %d, "
                "buffer %s offset %ld\n",
                who, blockIdx.x, blockIdx.y, blockIdx.z, cur, r.name.c_str(), (long)(a - r.user));
            violations++;
            lock_buffers(false);
            return;
        }
        if (a >= r.base && a < r.base + (r.pages + 2) * page_size) {
            if (cur_name != NULL)
                say("OUT OF BOUNDS access in %s: block (%u,%u,%u) thread %d, buffer %s "
                    "(%zu bytes) offset %ld\n",
                    who, blockIdx.x, blockIdx.y, blockIdx.z, cur, r.name.c_str(), r.size,
                    (long)(a - r.user));
            else
                say("OUT OF BOUNDS access in host code: buffer %s (%zu bytes) offset %ld\n",
                    r.name.c_str(), r.size, (long)(a - r.user));
            _exit(3);
        }
    }
    say("SIGSEGV at %p (not a device buffer) in %s thread %d\n", (void *)a, who, cur);
    _exit(4);
}

// The handler runs on its own stack: a fault may come from a fiber's.
static void install_fault_handler(void)
{
    static bool done;
    static char alt_stack[1 << 16];
    stack_t ss = {};
    struct sigaction sa = {};

    if (done)
        return;
    done = true;
    ss.ss_sp = alt_stack;
    ss.ss_size = sizeof alt_stack;
    sigaltstack(&ss, NULL);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigaction(SIGSEGV, &sa, NULL);
    sigaction(SIGBUS, &sa, NULL);
}

// --- Launch ------------------------------------------------------------------

static void check_shape(dim3 grid, int nt, const char *name)
{
    if (nt <= 0 || nt > MAX_THREADS || nt % WARP) {
        fprintf(stderr, "bad block of %d threads in %s\n", nt, name);
        exit(5);
    }
    if (grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) {
        fprintf(stderr, "bad grid (%u,%u,%u) in %s\n", grid.x, grid.y, grid.z, name);
        exit(5);
    }
}

static void start_block(int nt)
{
    block_bar = {nt, 0, 0, false};
    pdl_bar = {nt, 0, 0, true};
    for (int w = 0; w < nt / WARP; w++) {
        warp_bar[w] = {WARP, 0, 0, false};
        exited_warp[w] = 0;
    }
    exited_block = 0;
    for (int i = 0; i < nt; i++) {
        fibers[i].done = false;
        fibers[i].entered = false;
    }
    if (cur_pdl && (lock_every_block || (blockIdx.x | blockIdx.y | blockIdx.z) == 0))
        lock_buffers(true);
}

// Resume every live fiber once; returns how many finished.
static int sweep(dim3 block, int nt)
{
    int finished = 0;

    for (int k = 0; k < nt; k++) {
        int i = reverse ? nt - 1 - k : k;

        if (fibers[i].done)
            continue;
        cur = i;
        threadIdx = {(unsigned)(i % block.x), (unsigned)(i / block.x % block.y),
                     (unsigned)(i / (block.x * block.y))};
        resume(i);
        finished += fibers[i].done;
    }
    return finished;
}

static void run_block(dim3 block, int nt)
{
    int remaining = nt;

    start_block(nt);
    while (remaining) {
        long before = progress;

        remaining -= sweep(block, nt);
        if (remaining && progress == before) {
            fprintf(stderr, "DEADLOCK in %s block (%u,%u,%u): %d threads stuck\n", cur_name,
                    blockIdx.x, blockIdx.y, blockIdx.z, remaining);
            exit(6);
        }
    }
    lock_buffers(false);
}

// Kernels' dynamic shared memory limits set with cudaFuncSetAttribute.
static std::vector<std::pair<const void *, int>> smem_limits;
static std::vector<double> dyn_smem;

cudaError_t emu_func_set_smem(const void *func, int bytes)
{
    if (bytes < 0 || bytes > MAX_DYN_SMEM)
        return cudaErrorInvalidValue;
    for (auto &l : smem_limits)
        if (l.first == func) {
            l.second = bytes;
            return cudaSuccess;
        }
    smem_limits.push_back({func, bytes});
    return cudaSuccess;
}

const char *emu_kernel_name(const char *launch_args)
{
    static std::vector<std::pair<const char *, char *>> names;
    static std::mutex lock;
    std::lock_guard<std::mutex> hold(lock);
    int depth = 0;
    size_t n = 0;

    for (auto &e : names)
        if (e.first == launch_args)
            return e.second;
    for (; launch_args[n] && (launch_args[n] != ',' || depth > 0); n++)
        depth += launch_args[n] == '<' ? 1 : launch_args[n] == '>' ? -1 : 0;
    names.push_back({launch_args, strndup(launch_args, n)});
    return names.back().second;
}

void *emu_dyn_smem(void)
{
    return dyn_smem.data();
}

// Whether a launch with 'smem' bytes of dynamic shared memory is allowed:
// above 48 KiB only up to what cudaFuncSetAttribute allowed.
static bool smem_allowed(const void *func, size_t smem)
{
    if (smem <= DEFAULT_DYN_SMEM)
        return true;
    for (auto &l : smem_limits)
        if (l.first == func)
            return smem <= (size_t)l.second;
    return false;
}

static void run_kernel(dim3 grid, dim3 block, size_t smem, const std::function<void()> &body,
                       bool pdl, const char *name, const void *func)
{
    int nt = (int)(block.x * block.y * block.z);

    install_fault_handler();
    check_shape(grid, nt, name);
    if (!smem_allowed(func, smem)) {
        fprintf(stderr, "launch of %s with %zu bytes of dynamic shared memory: above %d without "
                "cudaFuncSetAttribute's permission\n", name, smem, DEFAULT_DYN_SMEM);
        exit(5);
    }
    if (!stacks)
        stacks = (char *)mmap(NULL, STACK_BYTES * MAX_THREADS, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (stacks == MAP_FAILED) {
        perror("mmap");
        exit(2);
    }
    // Shared memory starts undefined: NaN patterns show reads before writes.
    dyn_smem.assign(smem / sizeof(double) + 1, NAN);
    gridDim = grid;
    blockDim = block;
    cur_body = &body;
    cur_pdl = pdl;
    cur_name = name;
    // Per launch, a pseudo-random but reproducible order unless one was set:
    // a step run twice then sees most of its kernels in both orders.
    launches++;
    reverse = order >= 0 ? order == 1 : (((launches * 0x9e3779b97f4a7c15ull) >> 40) & 1) != 0;
    for (unsigned k = 0, n = grid.x * grid.y * grid.z; k < n; k++) {
        unsigned b = reverse ? n - 1 - k : k;

        blockIdx = {b % grid.x, b / grid.x % grid.y, b / (grid.x * grid.y)};
        run_block(block, nt);
    }
    cur_name = NULL;
    cur_pdl = false;
}

void emu_launch(dim3 grid, dim3 block, size_t smem, cudaStream_t s, std::function<void()> body,
                bool pdl, const char *name, const void *func)
{
    emu_submit(s, [=] { run_kernel(grid, block, smem, body, pdl, name, func); });
}
