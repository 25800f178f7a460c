#include "media/ffmpeg_reader.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "image/image_io.h"
#include "media/frame_test_support.h"
#include "support/fixtures.h"

namespace ffmpeg_reader_test {

using namespace uprez;

using test::have_ffmpeg;
using test::quadrant_frame;
using test::run_ffmpeg;

// Three RGBA PNG frames shown for 100, 40 and 250 ms, listed in an ffconcat file for ffmpeg.
std::string write_frames_and_list(const std::string& dir) {
  const double seconds[] = {0.10, 0.04, 0.25};
  std::ofstream list(dir + "/frames.txt");
  list << "ffconcat version 1.0\n";
  for (int i = 0; i < 3; ++i) {
    const std::string png = dir + "/frame" + std::to_string(i) + ".png";
    write_image(quadrant_frame(16, 12, i), png);
    // Each PNG is a one-frame stream; a millisecond frame rate keeps the concatenation's times exact.
    list << "file '" << png << "'\noption framerate 1000\nduration " << seconds[i] << "\n";
  }
  return dir + "/frames.txt";
}

// The concat demuxer times the last frame by the frame rate: the muxers' final_delay sets its 250 ms.
const std::string kPassthrough = " -fps_mode passthrough ";

// Reads every frame, checking each against quadrant_frame and the 100/40/250 ms schedule.
void expect_three_timed_frames(FrameReader& reader) {
  const std::vector<Frame> frames = test::read_all(reader);
  ASSERT_EQ(frames.size(), 3u);
  const Rational milliseconds{1, 1000};
  EXPECT_EQ(test::starts_in(frames, reader.info().time_base, milliseconds), (std::vector<int64_t>{0, 100, 140}));
  EXPECT_EQ(test::durations_in(frames, reader.info().time_base, milliseconds),
            (std::vector<int64_t>{100, 40, 250}));
  for (int i = 0; i < 3; ++i) {
    SCOPED_TRACE("frame " + std::to_string(i));
    test::expect_same_where_opaque(frames[i].image, quadrant_frame(16, 12, i), /*alpha_side_only=*/true);
  }
}

class FfmpegReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_ffmpeg()) GTEST_SKIP() << "SKIPPED: the ffmpeg program (Debian package ffmpeg) makes the test media";
    dir_ = test::temp_dir();
    list_ = write_frames_and_list(dir_);
  }
  std::string dir_, list_;
};

TEST_F(FfmpegReaderTest, GifKeepsEachFramesDelayAndTransparency) {
  const std::string gif = dir_ + "/anim.gif";
  run_ffmpeg("-f concat -safe 0 -i " + list_ + kPassthrough + "-final_delay 25 " +
             "-filter_complex \"split[a][b];[a]palettegen=reserve_transparent=1[p];"
             "[b][p]paletteuse=alpha_threshold=128\" " + gif);
  auto reader = open_ffmpeg_video(gif);
  EXPECT_EQ(reader->info().width, 16);
  EXPECT_EQ(reader->info().height, 12);
  EXPECT_TRUE(reader->info().has_alpha);
  expect_three_timed_frames(*reader);
}

TEST_F(FfmpegReaderTest, ApngKeepsEachFramesDelayAndAlpha) {
  const std::string apng = dir_ + "/anim.apng";
  run_ffmpeg("-f concat -safe 0 -i " + list_ + kPassthrough + "-final_delay 0.25 -plays 0 -f apng " + apng);
  auto reader = open_ffmpeg_video(apng);
  EXPECT_TRUE(reader->info().has_alpha);
  expect_three_timed_frames(*reader);
}

// 30000/1001 stays exact, timestamps step by 1001/30000 s, colours of a lossless RGB stream are exact.
TEST_F(FfmpegReaderTest, VideoFrameRateIsARationalAndTimestampsAreExact) {
  const std::string video = dir_ + "/clip.mkv";
  run_ffmpeg("-f lavfi -i testsrc=size=32x24:rate=30000/1001 -frames:v 5 -c:v ffv1 -pix_fmt bgr0 " + video);
  auto reader = open_ffmpeg_video(video);
  EXPECT_EQ(reader->info().frame_rate.num, 30000);
  EXPECT_EQ(reader->info().frame_rate.den, 1001);
  EXPECT_FALSE(reader->info().has_alpha);
  const std::vector<Frame> frames = test::read_all(*reader);
  for (const Frame& frame : frames) EXPECT_EQ(frame.image.channels, 3);
  EXPECT_EQ(test::starts_in(frames, reader->info().time_base, {1001, 30000}), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST_F(FfmpegReaderTest, MissingTruncatedAndNonVideoFilesAreErrorsNamingThem) {
  const std::string gif = dir_ + "/anim.gif";
  run_ffmpeg("-f concat -safe 0 -i " + list_ + kPassthrough + gif);
  std::filesystem::copy_file(gif, dir_ + "/cut.gif");
  std::filesystem::resize_file(dir_ + "/cut.gif", 20);
  std::ofstream(dir_ + "/text.mp4") << "not a video at all";
  for (const std::string& path : {dir_ + "/missing.mp4", dir_ + "/cut.gif", dir_ + "/text.mp4"}) {
    const std::string message = test::read_error(path, open_ffmpeg_video);
    EXPECT_NE(message.find(path), std::string::npos) << path << ": " << message;
  }
}

}  // namespace ffmpeg_reader_test
