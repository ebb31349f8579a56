// The host side of the CUDA emulator (emu.cpp), for the test program:
// device buffers between guard pages, and the count of contract
// violations the emulated kernels committed.
#pragma once

#include <cstddef>

// Allocate 'bytes' of emulated device memory named 'name' (in reports);
// freed by emu_free_all. Placed against the guard page after it, or the one
// before it after emu_set_start_aligned(true).
void *emu_alloc(size_t bytes, const char *name);
void emu_free_all(void);
void emu_set_start_aligned(bool on);
// Run the fibers of a block last to first instead of first to last.
void emu_set_reverse(bool on);
// Violations reported since the last call, and reset the count.
int emu_take_violations(void);
