#include "media/frame_pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "core/error.h"

namespace frame_pipeline_test {

using namespace uprez;

// `count` one-pixel frames whose pts is their number.
std::function<std::optional<Frame>()> numbered_frames(int64_t count, std::atomic<int64_t>& read) {
  return [count, &read]() -> std::optional<Frame> {
    if (read == count) return std::nullopt;
    Frame frame;
    frame.image = Image(1, 1, 3, 8);
    frame.pts = read++;
    return frame;
  };
}

const auto kNoProgress = [](int64_t) {};

// Every frame goes through in order; no more than the queues' room is ever read ahead of what was written.
TEST(FramePipeline, KeepsOrderAndBoundsTheFramesInFlight) {
  std::atomic<int64_t> read{0}, written{0};
  int64_t most_in_flight = 0;
  std::vector<int64_t> order;
  const FramePipelineTimes times = run_frame_pipeline(
      numbered_frames(500, read),
      [&](Frame frame) {
        most_in_flight = std::max(most_in_flight, read - written);
        frame.pts *= 2;
        return frame;
      },
      [&](Frame frame) {
        order.push_back(frame.pts);
        ++written;
      },
      kNoProgress, 3);
  EXPECT_EQ(times.frames, 500);
  ASSERT_EQ(order.size(), 500u);
  for (int64_t i = 0; i < 500; ++i) EXPECT_EQ(order[i], 2 * i);
  // two queues of 3, one frame in each stage's hands
  EXPECT_LE(most_in_flight, 2 * 3 + 3);
  EXPECT_GE(times.wall_seconds, times.process_seconds);
}

// A failure in any stage stops the others and comes out of the call, not a hang.
TEST(FramePipeline, TheFirstFailureOfAnyStageIsRethrown) {
  for (int failing = 0; failing < 3; ++failing) {
    SCOPED_TRACE(failing);
    std::atomic<int64_t> read{0};
    auto source = numbered_frames(1000000, read);
    const auto fail_at_10 = [](const Frame& frame) {
      if (frame.pts == 10) throw Error("frame 10 is bad");
    };
    EXPECT_THROW(run_frame_pipeline(
                     [&]() -> std::optional<Frame> {
                       std::optional<Frame> frame = source();
                       if (failing == 0) fail_at_10(*frame);
                       return frame;
                     },
                     [&](Frame frame) {
                       if (failing == 1) fail_at_10(frame);
                       return frame;
                     },
                     [&](Frame frame) {
                       if (failing == 2) fail_at_10(frame);
                     },
                     kNoProgress, 2),
                 Error);
    EXPECT_LT(read, 100);  // stopped soon after
  }
}

}  // namespace frame_pipeline_test
