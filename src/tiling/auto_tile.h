// `tile=auto`: the largest tile whose estimated working set fits in about half of the memory available.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace uprez {

// A tile side in [64, 2048], a multiple of 8, of `multiple_of` and at least 2 * multiple_of (so that any
// overlap up to 32 is valid with it), chosen as the largest such size whose working set
// bytes_per_input_pixel * tile^2 is at most available_bytes / 2 (the smallest size when none fits).
// Throws Error for bytes_per_input_pixel < 1, multiple_of < 1, and a multiple_of so large that no such size
// exists.
int auto_tile_size(int64_t bytes_per_input_pixel, int64_t available_bytes, int multiple_of);

// Memory available for a run on `device`, in bytes. CPU: MemAvailable from /proc/meminfo, lowered to the room
// left under a cgroup v2 memory limit (containers). CUDA: the device's free memory as the driver reports it
// (memory that LibTorch's caching allocator holds but does not use is not counted); the CPU value when the
// driver cannot be queried (e.g. no NVIDIA driver).
int64_t available_memory_bytes(const torch::Device& device);

}  // namespace uprez
