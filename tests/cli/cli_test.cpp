// End-to-end tests of the uprez program: real command lines, exit status, messages and files.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "image/image_io.h"
#include "media/ffmpeg_writer.h"
#include "media/frame_test_support.h"
#include "media/media_file.h"
#include "media/webp_animation.h"
#include "support/fixtures.h"
#include "io/safetensors_writer.h"
#include "support/test_assets.h"

using namespace uprez;
namespace fs = std::filesystem;

namespace {

struct Result {
  int status;
  std::string output;  // stdout and stderr together
};

Result run_uprez(const std::string& arguments) {
  const std::string command = test::build_dir() + "/uprez " + arguments + " 2>&1";
  Result result{-1, ""};
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::temp_dir();
    model_ = dir_ + "/tiny-x2.safetensors";
    write_safetensors(model_, test::tiny_compact_weights({2, 3, 8, 2}, 3), {});
    input_ = dir_ + "/in.png";
    write_image(test::synthetic_image(31, 20, 4, 8), input_);
  }
  std::string upscaler() const { return "\"upscaler;model=" + model_ + ";tile=16;overlap=4\""; }
  std::string dir_, model_, input_;
};

}  // namespace

TEST_F(Cli, UpscalesWithDgenerateSpelling) {
  const Result r = run_uprez("--sub-command image-process " + input_ + " -p " + upscaler() + " -o " + dir_ + "/out.png");
  ASSERT_EQ(r.status, 0) << r.output;
  const Image out = read_image(dir_ + "/out.png");
  EXPECT_EQ(out.width, 62);
  EXPECT_EQ(out.height, 40);
  EXPECT_EQ(out.channels, 4);
}

TEST_F(Cli, DefaultOutputNameAndDuplicates) {
  ASSERT_EQ(run_uprez("image-process " + input_ + " -p " + upscaler()).status, 0);
  ASSERT_EQ(run_uprez("image-process " + input_ + " -p " + upscaler()).status, 0);
  EXPECT_TRUE(fs::exists(dir_ + "/in_processed_1.png"));
  EXPECT_TRUE(fs::exists(dir_ + "/in_processed_1_duplicate_1.png"));
  ASSERT_EQ(run_uprez("image-process " + input_ + " -ox -p " + upscaler()).status, 0);
  EXPECT_FALSE(fs::exists(dir_ + "/in_processed_1_duplicate_2.png"));
}

TEST_F(Cli, ResizeAlignAndFormats) {
  const Result r = run_uprez("image-process " + input_ + " -r 16 -al 4 -p " + upscaler() + " -o " + dir_ + "/o.jpg --quality 80");
  ASSERT_EQ(r.status, 0) << r.output;
  const Image out = read_image(dir_ + "/o.jpg");
  EXPECT_EQ(out.width, 32);
  EXPECT_EQ(out.height, 8 * 2);  // 20 * 16/31 = 10 -> aligned down to 8 -> x2
}

TEST_F(Cli, ModelInfoDescribesTheModel) {
  const Result r = run_uprez("model-info " + model_);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Compact"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("scale:             2"), std::string::npos) << r.output;
}

TEST_F(Cli, ProcessorHelp) {
  const Result r = run_uprez("--image-processor-help upscaler");
  ASSERT_EQ(r.status, 0);
  EXPECT_NE(r.output.find("force-tiling (bool), default: false"), std::string::npos) << r.output;
  EXPECT_EQ(run_uprez("--image-processor-help nope").status, 1);
}

TEST_F(Cli, ErrorPathsExitOneWithOneLine) {
  std::ofstream(dir_ + "/garbage.pth") << "definitely not a model";
  std::ofstream(dir_ + "/broken.png") << "\x89PNG\r\n\x1a\n truncated";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"image-process " + dir_ + "/missing.png -p " + upscaler(), "missing.png"},
      {"image-process " + input_ + " -p \"upscaler;model=" + dir_ + "/garbage.pth\"", "garbage.pth"},
      {"image-process " + input_ + " -p \"upscaler;model=" + model_ + ";tile=7\"", "tile"},
      {"image-process " + input_ + " -p \"upscaler;model=" + model_ + ";tile=32;overlap=32\"", "overlap"},
      {"image-process " + input_ + " -p \"upscaler;model=" + model_ + ";what=1\"", "unknown argument \"what\""},
      {"image-process " + input_ + " -p \"nothing\"", "unknown image processor"},
      {"image-process " + input_ + " -p " + upscaler() + " -o " + dir_ + "/x.xyz", "unsupported output format"},
      {"image-process " + input_ + " " + input_ + " -p " + upscaler() + " -o " + dir_ + "/one.png", "--output"},
      {"image-process " + dir_ + "/broken.png -p " + upscaler(), "broken.png"},
      {"image-process " + input_ + " -r 0x5 -p " + upscaler(), "--resize"},
      {"image-process " + input_ + " -d tpu -p " + upscaler(), "--device"},
      {"image-process " + input_ + " --bogus", "bogus"},
      {"image-process", "input"},
      {"model-info " + dir_ + "/garbage.pth", "garbage.pth"},
      {"frobnicate", "unknown command"},
  };
  for (const auto& [args, expected] : cases) {
    const Result r = run_uprez(args);
    EXPECT_EQ(r.status, 1) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << args << "\n" << r.output;
    EXPECT_NE(r.output.find("error: "), std::string::npos) << args << "\n" << r.output;
    EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 1) << args << "\n" << r.output;
  }
}

TEST_F(Cli, FailedRunLeavesNoPartialOutput) {
  const std::string out = dir_ + "/never.png";
  run_uprez("image-process " + dir_ + "/missing.png -p " + upscaler() + " -o " + out);
  EXPECT_FALSE(fs::exists(out));
  for (const auto& entry : fs::directory_iterator(dir_))
    EXPECT_EQ(entry.path().filename().string().find("tmp"), std::string::npos) << entry.path();
}

TEST_F(Cli, FolderInputToFolderOutput) {
  fs::create_directories(dir_ + "/batch");
  write_image(test::synthetic_image(8, 8, 3, 8), dir_ + "/batch/b.png");
  write_image(test::synthetic_image(9, 5, 1, 16), dir_ + "/batch/a.png");
  const Result r = run_uprez("image-process " + dir_ + "/batch -p " + upscaler() + " -o " + dir_ + "/res/");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir_ + "/res/a_processed_1.png"));
  EXPECT_EQ(read_image(dir_ + "/res/a_processed_1.png").bit_depth, 16);
  EXPECT_TRUE(fs::exists(dir_ + "/res/b_processed_2.png"));
}

// blocktime restarts the program once with libgomp's spin count set; the result is the same image.
TEST_F(Cli, NcnnBlocktimeRunsAfterOneRestart) {
  const std::string folder = test::models_root() + "/ncnn";
  UPREZ_REQUIRE_PATH(folder);
  const std::string ncnn = "upscaler-ncnn;model=" + folder + "/realesr-animevideov3-x2.bin;param=" + folder +
                           "/realesr-animevideov3-x2.param;threads=1";
  const Result plain = run_uprez("image-process " + input_ + " -p \"" + ncnn + "\" -o " + dir_ + "/plain.png");
  ASSERT_EQ(plain.status, 0) << plain.output;
  for (const std::string blocktime : {"0", "20"}) {
    const std::string out = dir_ + "/blocktime" + blocktime + ".png";
    const Result r = run_uprez("image-process " + input_ + " -p \"" + ncnn + ";blocktime=" + blocktime + "\" -o " + out);
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_EQ(r.output.find("warning"), std::string::npos) << r.output;
    EXPECT_EQ(read_image(out).data, read_image(dir_ + "/plain.png").data) << blocktime;
  }
  const Result bad = run_uprez("image-process " + input_ + " -p \"" + ncnn + ";blocktime=401\" -o " + dir_ + "/x.png");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("cannot be greater than 400"), std::string::npos) << bad.output;
}

namespace {

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

}  // namespace

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
  EXPECT_NE(r.output.find("(3 frames, 24x18)"), std::string::npos) << r.output;
  auto reader = open_frames(dir_ + "/out.webp");
  EXPECT_EQ(reader->info().loop_count, 2);
  EXPECT_TRUE(reader->info().has_alpha);
  const std::vector<Frame> frames = test::read_all(*reader);
  EXPECT_EQ(test::durations_in(frames, reader->info().time_base, {1, 1000}), (std::vector<int64_t>{100, 40, 250}));
  for (const Frame& frame : frames) EXPECT_EQ(frame.image.width, 24);
}

// A 30000/1001 video becomes an h264 mp4 with the same rate and frame count.
TEST_F(Cli, VideoKeepsFrameRateAndFrameCount) {
  StreamInfo info;
  info.width = 16;
  info.height = 12;
  info.time_base = {1001, 30000};
  info.frame_rate = {30000, 1001};
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
