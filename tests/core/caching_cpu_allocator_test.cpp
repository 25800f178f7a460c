#include "core/caching_cpu_allocator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <c10/core/CPUAllocator.h>
#include <torch/torch.h>

namespace caching_cpu_allocator_test {

using namespace uprez;

constexpr int64_t kMiB = 1 << 20;

torch::Tensor bytes(int64_t count) { return torch::empty({count}, torch::kUInt8); }

// One test, because installing is for the whole process: with an 8 MiB cap (UPREZ_CPU_CACHE_MB, read at install),
// freed blocks of 1 MiB and more come back for the same rounded size, the oldest go beyond the cap, larger ones
// are not kept, smaller ones are freed at once; raw allocations (LibTorch's oneDNN tensors) free through
// raw_deleter() whatever their size.
TEST(CachingCpuAllocator, ReusesFreedBlocksWithinItsCap) {
  EXPECT_EQ(cached_cpu_bytes(), 0u);
  setenv("UPREZ_CPU_CACHE_MB", "8", 1);
  install_caching_cpu_allocator();
  install_caching_cpu_allocator();  // a second call changes nothing

  torch::Tensor first = bytes(3 * kMiB);
  void* const address = first.data_ptr();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(address) % 64, 0u);
  first.fill_(7);
  first = torch::Tensor();
  EXPECT_EQ(cached_cpu_bytes(), static_cast<size_t>(3 * kMiB));
  // 3 MiB - 100 KiB rounds up to the same 3 MiB (1/16 steps of 4 MiB are 256 KiB).
  torch::Tensor again = bytes(3 * kMiB - 100 * 1024);
  EXPECT_EQ(again.data_ptr(), address);
  EXPECT_EQ(cached_cpu_bytes(), 0u);
  again = torch::Tensor();

  {
    torch::Tensor a = bytes(3 * kMiB), b = bytes(3 * kMiB), c = bytes(3 * kMiB), big = bytes(16 * kMiB);
  }
  EXPECT_EQ(cached_cpu_bytes(), static_cast<size_t>(6 * kMiB));  // two of the 3 MiB blocks; not the 16 MiB one

  { torch::Tensor small = bytes(kMiB / 2); }
  EXPECT_EQ(cached_cpu_bytes(), static_cast<size_t>(6 * kMiB));

  c10::Allocator* allocator = c10::GetCPUAllocator();
  for (const size_t size : {size_t{100}, size_t{2 * kMiB}}) {
    void* raw = allocator->raw_allocate(size);
    std::memset(raw, 1, size);
    allocator->raw_deallocate(raw);
  }
  EXPECT_EQ(cached_cpu_bytes(), static_cast<size_t>(8 * kMiB));  // the 2 MiB block joined the two 3 MiB ones
  // Tensors made through the cache work as any other.
  const torch::Tensor x = torch::rand({4, 256, 256});
  EXPECT_NEAR((x * 2).sum().item<double>(), 2 * x.sum().item<double>(), 1e-2);

  release_cached_cpu_memory();
  EXPECT_EQ(cached_cpu_bytes(), 0u);
}

}  // namespace caching_cpu_allocator_test
