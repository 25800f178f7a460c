// End-to-end tests of image-process on animations and videos: frame counts, each frame's time, sizes, alpha,
// audio, frame ranges and frame images, pixels against the still-image path, damaged inputs, outputs in place.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/cli_test_support.h"
#include "image/image_io.h"
#include "media/ffmpeg_reader.h"
#include "media/ffmpeg_writer.h"
#include "media/frame_test_support.h"
#include "media/media_file.h"
#include "media/webp_animation.h"
#include "support/fixtures.h"
#include "support/test_assets.h"

namespace uprez {
namespace cli_video_test {

using test::Cli;
using test::Result;
using test::run_uprez;
namespace fs = std::filesystem;

// Writes `durations.size()` different synthetic `channels`-channel pictures, frame i lasting durations[i]
// (identical frames would be merged by the WebP encoder).
void write_animation(FrameWriter& writer, int width, int height, int channels, const std::vector<int64_t>& durations) {
  std::vector<Image> pictures;
  for (size_t i = 0; i < durations.size(); ++i) {
    Image image = test::synthetic_image(width, height, channels, 8);
    for (size_t b = 0; b < image.row_bytes(); ++b) image.data[b] = static_cast<uint8_t>(i * 60);  // frames differ
    pictures.push_back(std::move(image));
  }
  test::write_in_sequence(writer, pictures, durations);
}

// An animated WebP goes through the chain frame by frame: same frame count, each frame's delay, alpha kept.
TEST_F(Cli, AnimatedWebpKeepsFramesDelaysAndAlpha) {
  StreamInfo info;
  info.width = 12;
  info.height = 9;
  info.loop_count = 2;
  const std::string input = dir_ + "/anim.webp";
  write_animation(*create_webp_animation(input, info, {true, 95}), 12, 9, 4, {100, 40, 250});
  const Result r = run_uprez("image-process " + input + " -p " + upscaler() + " -o " + dir_ + "/out.webp");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("(3 frames, 24x18;"), std::string::npos) << r.output;
  auto reader = open_frames(dir_ + "/out.webp");
  EXPECT_EQ(reader->info().loop_count, 2);
  EXPECT_TRUE(reader->info().has_alpha);
  const std::vector<Frame> frames = test::read_all(*reader);
  EXPECT_EQ(test::durations_in(frames, reader->info().time_base, {1, 1000}), (std::vector<int64_t>{100, 40, 250}));
  for (const Frame& frame : frames) EXPECT_EQ(frame.image.width, 24);
}

// A 30000/1001 video becomes an h264 mp4 with the same rate and frame count.
TEST_F(Cli, VideoKeepsFrameRateAndFrameCount) {
  const StreamInfo info = test::ntsc_video_info(16, 12);
  const std::string input = dir_ + "/clip.mkv";
  write_animation(*create_ffmpeg_video(input, info, {"ffv1", -1, 0, ""}), 16, 12, 3, {1, 1, 1, 1, 1});
  const Result r = run_uprez("image-process " + input + " -p " + upscaler() + " -o " + dir_ + "/out.mp4");
  ASSERT_EQ(r.status, 0) << r.output;
  auto reader = open_frames(dir_ + "/out.mp4");
  EXPECT_EQ(reader->info().frame_rate.num, 30000);
  EXPECT_EQ(reader->info().frame_rate.den, 1001);
  const std::vector<Frame> frames = test::read_all(*reader);
  EXPECT_EQ(test::starts_in(frames, reader->info().time_base, {1001, 30000}), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  for (const Frame& frame : frames) EXPECT_EQ(frame.image.width, 32);
}

TEST_F(Cli, AnimationToAStillFormatIsAnError) {
  StreamInfo info;
  info.width = 8;
  info.height = 8;
  const std::string input = dir_ + "/anim.webp";
  write_animation(*create_webp_animation(input, info, {true, 95}), 8, 8, 3, {50, 50});
  const Result r = run_uprez("image-process " + input + " -p " + upscaler() + " -o " + dir_ + "/out.png");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("is an animation or video, so the output must be one too"), std::string::npos) << r.output;
  EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  EXPECT_FALSE(fs::exists(dir_ + "/out.png"));
}

// A GIF with three different delays and a transparent corner: delays, size and transparency survive.
TEST_F(Cli, GifKeepsDelaysAndTransparency) {
  StreamInfo info;
  info.width = 16;
  info.height = 12;
  info.time_base = {1, 100};
  info.has_alpha = true;
  const std::string input = dir_ + "/anim.gif";
  test::write_in_sequence(*create_ffmpeg_video(input, info, {}),
                          {test::quadrant_frame(16, 12, 0), test::quadrant_frame(16, 12, 1),
                           test::quadrant_frame(16, 12, 2)},
                          {10, 4, 25});
  const Result r = run_uprez("image-process " + input + " -p " + upscaler() + " -o " + dir_ + "/out.gif");
  ASSERT_EQ(r.status, 0) << r.output;
  auto reader = open_frames(dir_ + "/out.gif");
  EXPECT_TRUE(reader->info().has_alpha);
  const std::vector<Frame> frames = test::read_all(*reader);
  EXPECT_EQ(test::durations_in(frames, reader->info().time_base, {1, 1000}), (std::vector<int64_t>{100, 40, 250}));
  for (const Frame& frame : frames) {
    ASSERT_EQ(frame.image.width, 32);
    ASSERT_EQ(frame.image.channels, 4);
    EXPECT_EQ(frame.image.row(6)[8 * 4 + 3], 0);      // inside the transparent quadrant
    EXPECT_EQ(frame.image.row(18)[24 * 4 + 3], 255);  // inside an opaque one
  }
}

// An APNG keeps its delays and alpha, and a frame comes out exactly as the same picture through the still path.
TEST_F(Cli, ApngFramesMatchTheStillImagePath) {
  StreamInfo info;
  info.width = 13;
  info.height = 11;
  info.has_alpha = true;
  const std::string input = dir_ + "/anim.apng";
  write_animation(*create_ffmpeg_video(input, info, {}), 13, 11, 4, {100, 40, 250});
  const Result r = run_uprez("image-process " + input + " -p " + upscaler() + " -o " + dir_ + "/out.apng");
  ASSERT_EQ(r.status, 0) << r.output;
  auto reader = open_frames(dir_ + "/out.apng");
  EXPECT_TRUE(reader->info().has_alpha);
  const std::vector<Frame> frames = test::read_all(*reader);
  EXPECT_EQ(test::durations_in(frames, reader->info().time_base, {1, 1000}), (std::vector<int64_t>{100, 40, 250}));

  auto source = open_frames(input);
  source->next();
  write_image(source->next()->image, dir_ + "/frame1.png");
  const Result still = run_uprez("image-process " + dir_ + "/frame1.png -p " + upscaler() + " -o " + dir_ + "/still.png");
  ASSERT_EQ(still.status, 0) << still.output;
  EXPECT_EQ(frames.at(1).image.data, read_image(dir_ + "/still.png").data);
}

// A variable-frame-rate mkv keeps every frame's own timestamp.
TEST_F(Cli, VariableFrameRateVideoKeepsItsTimestamps) {
  StreamInfo info;
  info.width = 16;
  info.height = 12;
  info.time_base = {1, 1000};
  const std::string input = dir_ + "/vfr.mkv";
  write_animation(*create_ffmpeg_video(input, info, {"ffv1", -1, 0, ""}), 16, 12, 3, {40, 60, 150, 33});
  const Result r = run_uprez("image-process " + input + " -p " + upscaler() + " --codec ffv1 -o " + dir_ + "/out.mkv");
  ASSERT_EQ(r.status, 0) << r.output;
  auto reader = open_frames(dir_ + "/out.mkv");
  EXPECT_FALSE(reader->info().constant_frame_rate);
  const std::vector<Frame> frames = test::read_all(*reader);
  EXPECT_EQ(test::starts_in(frames, reader->info().time_base, {1, 1000}), (std::vector<int64_t>{0, 40, 100, 250}));
}

// Videos made by Debian's ffmpeg program: 30 frames at 30000/1001 with a second of AAC sound (mp4).
class CliVideo : public Cli {
 protected:
  void SetUp() override {
    if (!test::have_ffmpeg()) GTEST_SKIP() << "SKIPPED: the ffmpeg program (Debian package ffmpeg) makes the test media";
    Cli::SetUp();
    clip_ = dir_ + "/clip.mp4";
    test::run_ffmpeg("-f lavfi -i testsrc=size=32x24:rate=30000/1001:duration=1.001 "
                     "-f lavfi -i sine=frequency=440:sample_rate=44100:duration=1 "
                     "-c:v libx264 -pix_fmt yuv420p -c:a aac -movflags +faststart " + clip_);
  }
  Result upscale(const std::string& input, const std::string& options) {
    return run_uprez("image-process " + input + " -p " + upscaler() + " " + options);
  }
  std::string clip_;
};

// mp4 at 30000/1001 with AAC: frame count, rate, each timestamp, size, and the audio copied with its length.
TEST_F(CliVideo, Mp4KeepsRateTimestampsAndAudio) {
  const Result r = upscale(clip_, "-o " + dir_ + "/out.mp4");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("(30 frames, 64x48; "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("frames/s"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("audio stream 1 (aac): copied"), std::string::npos) << r.output;
  auto reader = open_frames(dir_ + "/out.mp4");
  EXPECT_EQ(reader->info().frame_rate.num, 30000);
  EXPECT_EQ(reader->info().frame_rate.den, 1001);
  const std::vector<Frame> frames = test::read_all(*reader);
  std::vector<int64_t> expected(30);
  for (int i = 0; i < 30; ++i) expected[i] = i;
  EXPECT_EQ(test::starts_in(frames, reader->info().time_base, {1001, 30000}), expected);
  EXPECT_EQ(frames.at(0).image.width, 64);
  const auto source_audio = test::find_stream(test::probe_streams(clip_), "audio");
  const auto audio = test::find_stream(test::probe_streams(dir_ + "/out.mp4"), "audio");
  ASSERT_TRUE(audio);
  EXPECT_EQ(audio->codec, "aac");
  EXPECT_NEAR(audio->seconds, source_audio->seconds, 1e-3);
}

TEST_F(CliVideo, NoAudioLeavesTheSoundOut) {
  const Result r = upscale(clip_, "--no-audio -o " + dir_ + "/out.mkv");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::vector<test::StreamSummary> streams = test::probe_streams(dir_ + "/out.mkv");
  EXPECT_FALSE(test::find_stream(streams, "audio"));
  EXPECT_TRUE(test::find_stream(streams, "video"));
}

// -fs/-fe pick frames 10 to 19 (inclusive): ten frames from time 0, with their stretch of sound; the first is
// the source's frame 10 exactly as the still-image path makes it (ffv1 is lossless).
TEST_F(CliVideo, FrameRangeTakesItsFramesAndSound) {
  const Result r = upscale(clip_, "-fs 10 -fe 19 --codec ffv1 -o " + dir_ + "/part.mkv");
  ASSERT_EQ(r.status, 0) << r.output;
  auto reader = open_frames(dir_ + "/part.mkv");
  const std::vector<Frame> frames = test::read_all(*reader);
  EXPECT_EQ(test::starts_in(frames, reader->info().time_base, {1001, 30000}),
            (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  const auto audio = test::find_stream(test::probe_streams(dir_ + "/part.mkv"), "audio");
  ASSERT_TRUE(audio);
  EXPECT_NEAR(audio->seconds, 10 * 1001.0 / 30000, 0.05);  // AAC packets are 23 ms

  auto source = open_frames(clip_);
  for (int i = 0; i < 10; ++i) source->skip();
  write_image(source->next()->image, dir_ + "/frame10.png");
  ASSERT_EQ(upscale(dir_ + "/frame10.png", "-o " + dir_ + "/still10.png").status, 0);
  EXPECT_EQ(frames.at(0).image.data, read_image(dir_ + "/still10.png").data);
}

// -naf writes only the frame images, named <stem>_frame_<j> from 1 within the range, in the -ff format.
TEST_F(CliVideo, FrameImagesAndNoAnimationFile) {
  const Result r = upscale(clip_, "-fs 27 -naf -ff jpg -o " + dir_ + "/out.mp4");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_FALSE(fs::exists(dir_ + "/out.mp4"));
  for (int j = 1; j <= 3; ++j) EXPECT_EQ(read_image(dir_ + "/out_frame_" + std::to_string(j) + ".jpg").width, 64);
  EXPECT_FALSE(fs::exists(dir_ + "/out_frame_4.jpg"));
  // --frames adds them beside the video; without it (the default, or -nf) there are none.
  ASSERT_EQ(upscale(clip_, "-fe 1 --frames -o " + dir_ + "/both.mkv").status, 0);
  EXPECT_TRUE(fs::exists(dir_ + "/both.mkv"));
  EXPECT_TRUE(fs::exists(dir_ + "/both_frame_2.png"));
  ASSERT_EQ(upscale(clip_, "-fe 1 -nf -o " + dir_ + "/only.mkv").status, 0);
  EXPECT_FALSE(fs::exists(dir_ + "/only_frame_1.png"));
}

TEST_F(CliVideo, FrameOptionErrorsAreOneLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"-fs 30", "--frame-start 30 is past its last frame (it has 30)"},
      {"-fs 5 -fe 3", "--frame-end 3 is before --frame-start 5"},
      {"-nf -naf", "--no-frames cannot be used with --no-animation-file"},
      {"-ff gif", "--frame-format: expected png"},
      {"--codec no-such-encoder", "unknown or unavailable encoder \"no-such-encoder\""},
      {"--pix-fmt no-such-format", "unknown pixel format"},
      {"--preset no-such-preset", "encoder has no preset \"no-such-preset\""},
  };
  for (const auto& [options, message] : cases) {
    const Result r = upscale(clip_, options + " -o " + dir_ + "/bad.mp4");
    EXPECT_EQ(r.status, 1) << options;
    EXPECT_NE(r.output.find(message), std::string::npos) << options << ": " << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
    EXPECT_FALSE(fs::exists(dir_ + "/bad.mp4"));
  }
}

// Writing over the input being read (-o naming it, -ox) gives the complete processed video.
TEST_F(CliVideo, OutputOverItsOwnInputIsSafe) {
  const Result r = upscale(clip_, "-ox -o " + clip_);
  ASSERT_EQ(r.status, 0) << r.output;
  auto reader = open_frames(clip_);
  EXPECT_EQ(reader->info().width, 64);
  EXPECT_EQ(test::read_all(*reader).size(), 30u);
  EXPECT_TRUE(test::find_stream(test::probe_streams(clip_), "audio"));
}

// Ctrl-C in the middle of a video stops the program and leaves neither the output nor a temporary file.
TEST_F(CliVideo, InterruptLeavesNoOutput) {
  const std::string long_clip = dir_ + "/long.mkv";
  test::run_ffmpeg("-f lavfi -i testsrc=size=64x48:rate=30:duration=200 -c:v ffv1 " + long_clip);
  const std::string command = "cd " + dir_ + " && (" + test::build_dir() + "/uprez image-process " + long_clip +
                              " -p " + upscaler() + " -o out.mkv > log.txt 2>&1 & pid=$!; sleep 1.5; "
                              "kill -INT $pid; wait $pid; echo $? > status.txt)";
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::ifstream status(dir_ + "/status.txt");
  int code = -1;
  status >> code;
  std::ifstream log_file(dir_ + "/log.txt");
  const std::string log((std::istreambuf_iterator<char>(log_file)), std::istreambuf_iterator<char>());
  EXPECT_EQ(code, 1) << log;
  EXPECT_NE(log.find("image-process: error: interrupted"), std::string::npos) << log;
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().filename().string().find("out"), std::string::npos) << entry.path();
}

// A video cut short in the middle is an error naming it; with --keep-going, what decodes is processed.
TEST_F(CliVideo, CutShortInputFailsOrWithKeepGoingGivesWhatDecodes) {
  const std::string cut = dir_ + "/cut.mp4";
  fs::copy_file(clip_, cut);
  fs::resize_file(cut, fs::file_size(cut) * 2 / 3);
  const Result failed = upscale(cut, "-o " + dir_ + "/out.mp4");
  EXPECT_EQ(failed.status, 1) << failed.output;
  EXPECT_NE(failed.output.find(cut + ": is cut short: "), std::string::npos) << failed.output;
  EXPECT_EQ(std::count(failed.output.begin(), failed.output.end(), '\n'), 1) << failed.output;
  EXPECT_FALSE(fs::exists(dir_ + "/out.mp4"));

  const Result kept = upscale(cut, "--keep-going -o " + dir_ + "/out.mp4");
  ASSERT_EQ(kept.status, 0) << kept.output;
  EXPECT_NE(kept.output.find("warning"), std::string::npos) << kept.output;
  auto reader = open_frames(dir_ + "/out.mp4");
  const size_t frames = test::read_all(*reader).size();
  EXPECT_GT(frames, 0u);
  EXPECT_LT(frames, 30u);
}

}  // namespace cli_video_test
}  // namespace uprez
