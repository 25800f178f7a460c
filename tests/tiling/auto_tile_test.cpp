#include "tiling/auto_tile.h"

#include <algorithm>
#include <numeric>
#include <string>

#include <gtest/gtest.h>

#include "core/error.h"
#include "tiling/tile_layout.h"

namespace uprez {
namespace auto_tile_test {

constexpr int64_t kMiB = int64_t(1) << 20;
constexpr int64_t kGiB = int64_t(1) << 30;

TEST(AutoTile, IsTheLargestAlignedSizeThatFitsInHalfTheMemory) {
  for (int multiple_of : {1, 2, 4, 8, 12, 16, 64})
    for (int64_t bytes_per_pixel : {int64_t(64), int64_t(3000), int64_t(40000)})
      for (int64_t available : {int64_t(0), 100 * kMiB, kGiB, 3 * kGiB, 24 * kGiB, 1024 * kGiB}) {
        SCOPED_TRACE("multiple_of " + std::to_string(multiple_of) + ", " + std::to_string(bytes_per_pixel) +
                     " bytes per pixel, " + std::to_string(available) + " bytes available");
        const int tile = auto_tile_size(bytes_per_pixel, available, multiple_of);
        const int step = std::lcm(8, multiple_of);
        const int smallest = (std::max(64, 2 * multiple_of) + step - 1) / step * step;
        EXPECT_GE(tile, smallest);
        EXPECT_LE(tile, 2048);
        EXPECT_EQ(tile % step, 0);
        EXPECT_NO_THROW(validate_tile_options(TileOptions{tile, 32, multiple_of}));
        const auto fits = [&](int64_t size) { return bytes_per_pixel * size * size <= available / 2; };
        if (tile > smallest) {
          EXPECT_TRUE(fits(tile));
        }
        if (tile + step <= 2048) {
          EXPECT_FALSE(fits(tile + step));
        }
      }
}

TEST(AutoTile, StaysWithinItsRange) {
  EXPECT_EQ(auto_tile_size(3000, 0, 1), 64);
  EXPECT_EQ(auto_tile_size(1, 1024 * kGiB, 1), 2048);
  EXPECT_EQ(auto_tile_size(3000, 0, 64), 128);   // twice the multiple, so that an overlap still fits
  EXPECT_EQ(auto_tile_size(3000, 0, 24), 72);    // the smallest multiple of 24 from 64 on
  EXPECT_EQ(auto_tile_size(3000, int64_t(2) * 3000 * 1000 * 1000, 1), 1000);
}

TEST(AutoTile, RejectsMeaninglessArguments) {
  EXPECT_THROW(auto_tile_size(0, kGiB, 1), Error);
  EXPECT_THROW(auto_tile_size(100, kGiB, 0), Error);
  EXPECT_THROW(auto_tile_size(100, kGiB, 1500), Error);  // no multiple of 1500 in [64, 2048] fits twice
}

TEST(AutoTile, AvailableMemoryIsPositive) {
  EXPECT_GT(available_memory_bytes(torch::Device(torch::kCPU)), 0);
  // Without a CUDA driver this falls back to the CPU figure; with one it is the GPU's free memory.
  EXPECT_GT(available_memory_bytes(torch::Device(torch::kCUDA, 0)), 0);
}

}  // namespace auto_tile_test
}  // namespace uprez
