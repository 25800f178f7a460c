#include "media/ffmpeg_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "media/ffmpeg_reader.h"
#include "support/fixtures.h"

using namespace uprez;

namespace {

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

// Writes `durations.size()` frames of `width` x `height`, each starting where the previous ended.
void write_frames(const std::string& path, StreamInfo info, const std::vector<int64_t>& durations,
                  const VideoEncodeOptions& options) {
  auto writer = create_ffmpeg_video(path, info, options);
  int64_t pts = 0;
  for (size_t i = 0; i < durations.size(); ++i) {
    writer->write({gradient_frame(info.width, info.height, info.has_alpha ? 4 : 3, static_cast<int>(i)), pts,
                   durations[i]});
    pts += durations[i];
  }
  writer->finish();
}

double mean_abs_difference(const Image& a, const Image& b) {
  double total = 0;
  for (size_t i = 0; i < a.data.size(); ++i) total += std::abs(a.data[i] - b.data[i]);
  return total / static_cast<double>(a.data.size());
}

}  // namespace

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
  const int64_t starts[] = {0, 100, 140}, durations[] = {100, 40, 250};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const std::optional<Frame> frame = reader->next();
    ASSERT_TRUE(frame);
    EXPECT_EQ(rescale(frame->pts, reader->info().time_base, {1, 1000}), starts[i]);
    EXPECT_EQ(rescale(frame->duration, reader->info().time_base, {1, 1000}), durations[i]);
    EXPECT_EQ(frame->image.data, gradient_frame(20, 10, 4, i).data);
  }
  EXPECT_FALSE(reader->next());
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
  {
    auto writer = create_ffmpeg_video(path, info, {});
    const int64_t durations[] = {100, 40, 250};
    int64_t pts = 0;
    for (int i = 0; i < 3; ++i) {
      writer->write({frame_at(i), pts, durations[i]});
      pts += durations[i];
    }
    writer->finish();
  }
  auto reader = open_ffmpeg_video(path);
  ASSERT_TRUE(reader->info().has_alpha);
  const int64_t durations[] = {100, 40, 250};
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE(i);
    const std::optional<Frame> frame = reader->next();
    ASSERT_TRUE(frame);
    EXPECT_EQ(rescale(frame->duration, reader->info().time_base, {1, 1000}), durations[i]);
    const Image expected = frame_at(i);
    for (size_t p = 0; p < expected.data.size(); p += 4) {
      EXPECT_EQ(frame->image.data[p + 3], expected.data[p + 3]) << p / 4;
      if (expected.data[p + 3] == 255) {
        for (int c = 0; c < 3; ++c) EXPECT_EQ(frame->image.data[p + c], expected.data[p + c]) << p / 4;
      }
    }
  }
  EXPECT_FALSE(reader->next());
}

// h264 at 30000/1001 in mp4 (CRF 18, yuv420p by default) and lossless ffv1 in mkv: exact frame rate, timestamps,
// and pictures (exact for ffv1, close for h264).
TEST(FfmpegWriter, VideosKeepTheRationalFrameRate) {
  StreamInfo info;
  info.width = 64;
  info.height = 48;
  info.time_base = {1001, 30000};
  info.frame_rate = {30000, 1001};
  for (const auto& [name, codec, lossless] :
       {std::tuple{"clip.mp4", "h264", false}, std::tuple{"clip.mkv", "ffv1", true}}) {
    SCOPED_TRACE(name);
    const std::string path = test::temp_dir() + "/" + name;
    write_frames(path, info, std::vector<int64_t>(6, 1), {codec, -1, 0, ""});
    auto reader = open_ffmpeg_video(path);
    EXPECT_EQ(reader->info().frame_rate.num, 30000);
    EXPECT_EQ(reader->info().frame_rate.den, 1001);
    int frames = 0;
    while (const std::optional<Frame> frame = reader->next()) {
      EXPECT_EQ(rescale(frame->pts, reader->info().time_base, {1001, 30000}), frames);
      const Image expected = gradient_frame(64, 48, 3, frames);
      if (lossless)
        EXPECT_EQ(frame->image.data, expected.data);
      else
        EXPECT_LT(mean_abs_difference(frame->image, expected), 3.0);
      ++frames;
    }
    EXPECT_EQ(frames, 6);
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
