// End-to-end tests of the uprez program on still images: real command lines, exit status, messages and files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/cli_test_support.h"
#include "image/image_io.h"
#include "io/safetensors_writer.h"
#include "support/fixtures.h"
#include "support/test_assets.h"

namespace uprez {
namespace cli_test {

using test::Cli;
using test::Result;
using test::run_uprez;
namespace fs = std::filesystem;

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

}  // namespace cli_test
}  // namespace uprez
