#include "media/ffmpeg_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "media/ffmpeg_reader.h"
#include "media/frame_test_support.h"
#include "support/fixtures.h"

namespace ffmpeg_writer_test {

using namespace uprez;

// A smooth RGB(A) test picture that changes with `phase`; the alpha channel (when asked) is a left-to-right ramp.
Image gradient_frame(int width, int height, int channels, int phase) {
  Image image(width, height, channels, 8);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      uint8_t* pixel = image.row(y) + x * channels;
      pixel[0] = static_cast<uint8_t>(x * 255 / (width - 1));
      pixel[1] = static_cast<uint8_t>(y * 255 / (height - 1));
      pixel[2] = static_cast<uint8_t>((phase * 50) % 256);
      if (channels == 4) pixel[3] = static_cast<uint8_t>(x * 255 / (width - 1));
    }
  return image;
}

// Writes `durations.size()` gradient frames of `info`'s size, each starting where the previous ended.
void write_frames(const std::string& path, StreamInfo info, const std::vector<int64_t>& durations,
                  const VideoEncodeOptions& options) {
  std::vector<Image> pictures;
  for (size_t i = 0; i < durations.size(); ++i)
    pictures.push_back(gradient_frame(info.width, info.height, info.has_alpha ? 4 : 3, static_cast<int>(i)));
  test::write_in_sequence(*create_ffmpeg_video(path, info, options), pictures, durations);
}

double mean_abs_difference(const Image& a, const Image& b) {
  double total = 0;
  for (size_t i = 0; i < a.data.size(); ++i) total += std::abs(a.data[i] - b.data[i]);
  return total / static_cast<double>(a.data.size());
}

// APNG: lossless, each frame's own delay, alpha, the loop count.
TEST(FfmpegWriter, ApngKeepsDelaysAlphaAndPixels) {
  const std::string path = test::temp_dir() + "/out.apng";
  StreamInfo info;
  info.width = 20;
  info.height = 10;
  info.has_alpha = true;
  info.loop_count = 0;
  write_frames(path, info, {100, 40, 250}, {});
  auto reader = open_ffmpeg_video(path);
  ASSERT_TRUE(reader->info().has_alpha);
  const std::vector<Frame> frames = test::read_all(*reader);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(test::starts_in(frames, reader->info().time_base, {1, 1000}), (std::vector<int64_t>{0, 100, 140}));
  EXPECT_EQ(test::durations_in(frames, reader->info().time_base, {1, 1000}), (std::vector<int64_t>{100, 40, 250}));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(frames[i].image.data, gradient_frame(20, 10, 4, i).data) << i;
}

// GIF: a palette per frame keeps few-colour frames exact, each frame's delay (centiseconds), transparency.
TEST(FfmpegWriter, GifKeepsDelaysTransparencyAndColours) {
  const std::string path = test::temp_dir() + "/out.gif";
  StreamInfo info;
  info.width = 10;
  info.height = 6;
  info.has_alpha = true;
  const auto frame_at = [](int phase) {
    Image image(10, 6, 4, 8);
    for (int y = 0; y < 6; ++y)
      for (int x = 0; x < 10; ++x) {
        uint8_t* pixel = image.row(y) + x * 4;
        const bool clear = x < 3;
        pixel[0] = clear ? 0 : static_cast<uint8_t>(phase == 1 ? 200 : 20);
        pixel[1] = clear ? 0 : static_cast<uint8_t>(y < 3 ? 240 : 10);
        pixel[2] = clear ? 0 : static_cast<uint8_t>(60 * phase);
        pixel[3] = clear ? 0 : 255;
      }
    return image;
  };
  test::write_in_sequence(*create_ffmpeg_video(path, info, {}), {frame_at(0), frame_at(1), frame_at(2)},
                          {100, 40, 250});
  auto reader = open_ffmpeg_video(path);
  ASSERT_TRUE(reader->info().has_alpha);
  const std::vector<Frame> frames = test::read_all(*reader);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(test::durations_in(frames, reader->info().time_base, {1, 1000}), (std::vector<int64_t>{100, 40, 250}));
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    test::expect_same_where_opaque(frames[i].image, frame_at(i));
  }
}

// h264 at 30000/1001 in mp4 (CRF 18, yuv420p by default) and lossless ffv1 in mkv: exact frame rate, timestamps,
// and pictures (exact for ffv1, close for h264).
TEST(FfmpegWriter, VideosKeepTheRationalFrameRate) {
  const StreamInfo info = test::ntsc_video_info(64, 48);
  for (const auto& [name, codec, lossless] :
       {std::tuple{"clip.mp4", "h264", false}, std::tuple{"clip.mkv", "ffv1", true}}) {
    SCOPED_TRACE(name);
    const std::string path = test::temp_dir() + "/" + name;
    write_frames(path, info, std::vector<int64_t>(6, 1), {codec, -1, 0, ""});
    auto reader = open_ffmpeg_video(path);
    EXPECT_EQ(reader->info().frame_rate.num, 30000);
    EXPECT_EQ(reader->info().frame_rate.den, 1001);
    const std::vector<Frame> frames = test::read_all(*reader);
    EXPECT_EQ(test::starts_in(frames, reader->info().time_base, {1001, 30000}),
              (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
    for (size_t i = 0; i < frames.size(); ++i) {
      const Image expected = gradient_frame(64, 48, 3, static_cast<int>(i));
      if (lossless)
        EXPECT_EQ(frames[i].image.data, expected.data) << i;
      else
        EXPECT_LT(mean_abs_difference(frames[i].image, expected), 3.0) << i;
    }
  }
}

TEST(FfmpegWriter, BadSettingsAreErrorsAndLeaveNoFile) {
  const std::string dir = test::temp_dir();
  StreamInfo info;
  info.width = 16;
  info.height = 16;
  EXPECT_THROW(create_ffmpeg_video(dir + "/a.unknownext", info, {}), Error);
  EXPECT_THROW(create_ffmpeg_video(dir + "/a.mp4", info, {"no-such-codec", -1, 0, ""}), Error);
  EXPECT_THROW(create_ffmpeg_video(dir + "/a.mp4", info, {"h264", -1, 0, "not-a-format"}), Error);
  EXPECT_THROW(create_ffmpeg_video(dir + "/a.mkv", info, {"ffv1", 20, 0, ""}), Error);  // ffv1 has no crf
  {
    auto writer = create_ffmpeg_video(dir + "/unfinished.mp4", info, {});
    writer->write({gradient_frame(16, 16, 3, 0), 0, 40});
  }
  EXPECT_TRUE(std::filesystem::is_empty(dir));
}

}  // namespace ffmpeg_writer_test
