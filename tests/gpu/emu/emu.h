// The host side of the CUDA emulator (emu.cpp, emu_runtime.cpp): device
// buffers between guard pages, the queue that runs or records work on a
// stream, and the count of contract violations.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <functional>

// Allocate 'bytes' of emulated device memory named 'name' (in reports);
// freed by emu_free or emu_free_all. Placed against the guard page after
// it, or the one before it after emu_set_start_aligned(true).
void *emu_alloc(size_t bytes, const char *name);
// Free what emu_alloc returned; false when p is no such buffer.
bool emu_free(void *p);
void emu_free_all(void);
void emu_set_start_aligned(bool on);
// The name of the device buffer p points into (or just past), or NULL.
const char *emu_device_buffer(const void *p);
// Run the blocks of a launch, and the fibers of a block, last to first
// (on) or first to last; by default each launch picks one of the two
// orders, pseudo-randomly and reproducibly.
void emu_set_reverse(bool on);
// Lock the device buffers of a programmatic dependent launch until
// pdl_enter in every block (on) or in its first block only (the default:
// a few hundred mprotect calls per block add up over a whole model).
void emu_set_lock_every_block(bool on);
// Count and print a violation of CUDA's rules.
void emu_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// Violations reported since the last call, and reset the count.
int emu_take_violations(void);
// Violations reported and not yet taken.
int emu_violations(void);
// Run 'op' in stream order on 's' now, or record it when 's' is being
// captured into a graph (emu_runtime.cpp).
void emu_submit(cudaStream_t s, std::function<void()> op);
