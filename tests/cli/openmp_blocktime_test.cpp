// Reading `blocktime` off the command line's processor URIs, and the spin count for it.
#include "cli/openmp_blocktime.h"

#include <gtest/gtest.h>

namespace uprez {
namespace openmp_blocktime_test {

TEST(OpenmpBlocktime, ReadsTheLargestBlocktimeOfTheUris) {
  EXPECT_FALSE(requested_blocktime({"in.png", "-p", "upscaler-ncnn;model=a.bin;param=a.param"}));
  EXPECT_EQ(requested_blocktime({"-p", "upscaler-ncnn;model=a.bin;blocktime=5;param=a.param"}), 5);
  EXPECT_EQ(requested_blocktime({"upscaler-ncnn;blocktime = 7 ", "upscaler-ncnn;blocktime=30"}), 30);
  EXPECT_EQ(requested_blocktime({"upscaler-ncnn;blocktime=0"}), 0);
  // Not a URI key, not a number, out of range (the processor reports those): ignored.
  EXPECT_FALSE(requested_blocktime({"blocktime=5.png", "x;myblocktime=4", "upscaler-ncnn;blocktime=abc"}));
  EXPECT_FALSE(requested_blocktime({"upscaler-ncnn;blocktime=401", "upscaler-ncnn;blocktime=-1"}));
}

TEST(OpenmpBlocktime, SpinCountGrowsWithTheTime) {
  EXPECT_EQ(spin_count_for(0), 0);
  const long long one = spin_count_for(1);
  EXPECT_GT(one, 0);
  EXPECT_GT(spin_count_for(200), 50 * one);
}

}  // namespace openmp_blocktime_test
}  // namespace uprez
