#include "media/webp_animation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "image/image_io.h"
#include "media/frame_test_support.h"
#include "support/fixtures.h"

namespace webp_animation_test {

using namespace uprez;

// A w x h RGBA frame: a colour ramp shifted by `phase`, transparent left half.
Image test_frame(int width, int height, int phase) {
  Image image(width, height, 4, 8);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      uint8_t* pixel = image.row(y) + x * 4;
      pixel[0] = static_cast<uint8_t>(x * 20 + phase);
      pixel[1] = static_cast<uint8_t>(y * 30);
      pixel[2] = static_cast<uint8_t>(phase * 3);
      pixel[3] = x < width / 2 ? 0 : 255;
    }
  return image;
}

std::string write_three_frames(const std::string& path, const WebpAnimationOptions& options) {
  StreamInfo info;
  info.width = 9;
  info.height = 7;
  info.loop_count = 3;
  test::write_in_sequence(*create_webp_animation(path, info, options),
                          {test_frame(9, 7, 0), test_frame(9, 7, 40), test_frame(9, 7, 80)}, {100, 40, 250});
  return path;
}

// Three frames with different delays and a transparent half: lossless round trip keeps the size, the loop
// count, every frame's time and every pixel with its alpha.
TEST(WebpAnimation, LosslessRoundTripKeepsDelaysAndAlpha) {
  const std::string path = write_three_frames(test::temp_dir() + "/anim.webp", {true, 95});
  auto reader = open_webp_animation(path);
  EXPECT_EQ(reader->info().width, 9);
  EXPECT_EQ(reader->info().height, 7);
  EXPECT_EQ(reader->info().frame_count, 3);
  EXPECT_EQ(reader->info().loop_count, 3);
  EXPECT_TRUE(reader->info().has_alpha);
  const std::vector<Frame> frames = test::read_all(*reader);
  ASSERT_EQ(frames.size(), 3u);
  const Rational milliseconds{1, 1000};
  EXPECT_EQ(test::starts_in(frames, milliseconds, milliseconds), (std::vector<int64_t>{0, 100, 140}));
  EXPECT_EQ(test::durations_in(frames, milliseconds, milliseconds), (std::vector<int64_t>{100, 40, 250}));
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    test::expect_same_where_opaque(frames[i].image, test_frame(9, 7, i * 40));
  }
}

TEST(WebpAnimation, LossyFramesAreClose) {
  const std::string path = write_three_frames(test::temp_dir() + "/lossy.webp", {false, 90});
  auto reader = open_webp_animation(path);
  const std::optional<Frame> frame = reader->next();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->image.width, 9);
  EXPECT_EQ(frame->duration, 100);
  const Image expected = test_frame(9, 7, 0);
  double error = 0;
  int samples = 0;
  for (size_t p = 0; p < expected.data.size(); p += 4) {
    EXPECT_NEAR(frame->image.data[p + 3], expected.data[p + 3], 8);
    if (expected.data[p + 3] != 255) continue;
    for (int c = 0; c < 3; ++c, ++samples) error += std::abs(frame->image.data[p + c] - expected.data[p + c]);
  }
  EXPECT_LT(error / samples, 12);
  // The lossy encoder keeps only the opaque half as the first frame's rectangle: the canvas around it is
  // transparent, which the still decoder sees too.
  EXPECT_EQ(read_image(path).channels, 4);
}

// A still WebP reads as one frame, without alpha as RGB.
TEST(WebpAnimation, StillFileIsOneFrame) {
  const std::string path = test::temp_dir() + "/still.webp";
  Image rgb(5, 4, 3, 8);
  write_image(rgb, path, {95, true});
  auto reader = open_webp_animation(path);
  EXPECT_FALSE(reader->info().has_alpha);
  const std::optional<Frame> frame = reader->next();
  ASSERT_TRUE(frame);
  EXPECT_EQ(frame->image.channels, 3);
  EXPECT_FALSE(reader->next());
}

TEST(WebpAnimation, CorruptTruncatedAndMissingFilesAreErrorsNamingThem) {
  const std::string dir = test::temp_dir();
  const std::string good = write_three_frames(dir + "/good.webp", {true, 95});
  const auto bytes = std::filesystem::file_size(good);
  std::filesystem::copy_file(good, dir + "/cut.webp");
  std::filesystem::resize_file(dir + "/cut.webp", bytes / 2);
  std::ofstream(dir + "/junk.webp") << "RIFF....WEBPVP8X garbage";
  for (const std::string& path : {dir + "/cut.webp", dir + "/junk.webp", dir + "/missing.webp"}) {
    const std::string message = test::read_error(path, open_webp_animation);
    EXPECT_NE(message.find(path), std::string::npos) << path << ": " << message;
  }
}

// Nothing is at the output path until finish(); a writer dropped before it leaves nothing behind.
TEST(WebpAnimation, UnfinishedWriterLeavesNoFile) {
  const std::string dir = test::temp_dir();
  const std::string path = dir + "/never.webp";
  {
    StreamInfo info;
    info.width = 4;
    info.height = 4;
    auto writer = create_webp_animation(path, info, {});
    writer->write({test_frame(4, 4, 0), 0, 50});
    EXPECT_THROW(writer->write({test_frame(5, 4, 0), 50, 50}), Error);  // a frame of another size
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

}  // namespace webp_animation_test
