// LibTorch's CPU allocator with a cache of freed large blocks, as CUDA's caching allocator keeps device memory:
// an upscaler allocates and frees the same few feature-map sizes for every layer and tile, and glibc returns
// blocks that large to the kernel on free, so every reuse would fault in and clear fresh pages (a quarter of an
// ESRGAN run's time at 256x256). Blocks of 1 MiB and more are rounded to 1/16 of their power of two and kept for
// the next allocation of the same rounded size, up to a cap on the cached bytes; smaller ones are freed at once.
#pragma once

#include <cstddef>

namespace uprez {

// Makes the caching allocator LibTorch's CPU allocator (once; later calls do nothing). The cap is
// $UPREZ_CPU_CACHE_MB when set (0: nothing is cached), else a quarter of the physical memory, at most 4 GiB.
void install_caching_cpu_allocator();

// Bytes held in the cache (freed, not returned to the system); 0 when the allocator is not installed.
size_t cached_cpu_bytes();

// Returns every cached block to the system.
void release_cached_cpu_memory();
// Lowers the cap to `bytes` (evicting what lies beyond), unless $UPREZ_CPU_CACHE_MB set it: for work whose many
// different block sizes would fill a large cache with blocks that are never reused (a diffusion UNet).
void limit_cached_cpu_memory(size_t bytes);

}  // namespace uprez
