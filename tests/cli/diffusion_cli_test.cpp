// End-to-end tests of the main command (`uprez MODEL --model-type torch-upscaler-x4 ...`) on the fixture model
// folder x4_tiny at 2 steps: dgenerate's names, sizes, stills, an animated GIF and a video frame by frame, a model
// from a Hugging Face cache layout, batches, post-processors, and every error (one line, exit 1, nothing written).
#include <gtest/gtest.h>

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "cli/cli_test_support.h"
#include "image/image_io.h"
#include "media/ffmpeg_writer.h"
#include "media/frame_test_support.h"
#include "media/media_file.h"
#include "support/fixtures.h"
#include "support/test_assets.h"

namespace uprez {
namespace diffusion_cli_test {

using test::Result;
using test::run_uprez;
namespace fs = std::filesystem;

class DiffusionCli : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = test::fixtures_root() + "/diffusion/models/x4_tiny";
    UPREZ_REQUIRE_PATH(model_);
    dir_ = test::temp_dir();
    out_ = dir_ + "/out";
    input_ = dir_ + "/in.png";
    write_image(test::synthetic_image(24, 16, 3, 8), input_);
  }

  // The x4 upscaler at 2 steps, seed 7 unless `options` gives seeds, into out_.
  Result upscale(const std::string& options, const std::string& model = "") const {
    const std::string seeds = options.find("-se ") == std::string::npos && options.find("-gse") == std::string::npos
                                  ? " -se 7"
                                  : "";
    return run_uprez((model.empty() ? model_ : model) + " --model-type torch-upscaler-x4 -ifs 2 -o " + out_ + seeds +
                     " " + options);
  }

  std::vector<std::string> written() const {
    std::vector<std::string> names;
    if (fs::exists(out_))
      for (const auto& entry : fs::directory_iterator(out_)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  // A `count`-frame animation or video of `width` x `height` pictures that differ, each 100 ms (ffv1 for video).
  void write_animation(const std::string& path, int width, int height, int count) const {
    const bool video = fs::path(path).extension() != ".gif";
    StreamInfo info = video ? test::ntsc_video_info(width, height) : StreamInfo{};
    info.width = width;
    info.height = height;
    std::vector<Image> pictures;
    for (int i = 0; i < count; ++i) {
      Image picture = test::synthetic_image(width, height, 3, 8);
      for (size_t b = 0; b < picture.row_bytes(); ++b) picture.data[b] = static_cast<uint8_t>(i * 70);
      pictures.push_back(std::move(picture));
    }
    AnimationWriteOptions options;
    if (video) options.video.codec = "ffv1";
    test::write_in_sequence(*create_frames_writer(path, info, options), pictures,
                            std::vector<int64_t>(count, video ? 1 : 100));
  }

  std::string model_, dir_, out_, input_;
};

std::string last_line(const std::string& output) {
  const size_t end = output.find_last_not_of('\n');
  const size_t newline = output.rfind('\n', end);
  const size_t start = newline == std::string::npos ? 0 : newline + 1;
  return output.substr(start, end - start + 1);
}

TEST_F(DiffusionCli, StillIsFourTimesLargerUnderDgenerateName) {
  const Result r = upscale("--image-seeds " + input_);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(written(), std::vector<std::string>{"s_7_unl_20_g_5_i_2_step_1.png"});
  const Image out = read_image(out_ + "/s_7_unl_20_g_5_i_2_step_1.png");
  EXPECT_EQ(out.width, 96);
  EXPECT_EQ(out.height, 64);
  EXPECT_NE(last_line(r.output).find("wrote \"" + out_ + "/s_7_unl_20_g_5_i_2_step_1.png\""), std::string::npos)
      << r.output;
  // The same seed gives the same image; an existing name gets _duplicate_1, or is replaced with -ox.
  ASSERT_EQ(upscale("-is " + input_).status, 0);
  ASSERT_EQ(upscale("-is " + input_ + " -ox").status, 0);
  EXPECT_EQ(written(), (std::vector<std::string>{"s_7_unl_20_g_5_i_2_step_1.png",
                                                 "s_7_unl_20_g_5_i_2_step_1_duplicate_1.png"}));
  EXPECT_EQ(read_image(out_ + "/s_7_unl_20_g_5_i_2_step_1_duplicate_1.png").data, out.data);
}

// models--org--name/refs/main names a snapshot whose files link to the fixture folder's, as huggingface_hub does.
TEST_F(DiffusionCli, ModelFromHuggingFaceCache) {
  const fs::path repo = fs::path(dir_) / "hub" / "models--org--tiny-x4";
  const fs::path snapshot = repo / "snapshots" / "0123abcd";
  fs::create_directories(repo / "refs");
  std::ofstream(repo / "refs" / "main") << "0123abcd";
  for (const auto& entry : fs::recursive_directory_iterator(model_)) {
    const fs::path target = snapshot / fs::relative(entry.path(), model_);
    if (entry.is_directory()) fs::create_directories(target);
    else fs::create_symlink(entry.path(), target);
  }
  ASSERT_EQ(setenv("HF_HUB_CACHE", (fs::path(dir_) / "hub").c_str(), 1), 0);
  const Result r = upscale("-is " + input_ + " -op cache", "org/tiny-x4");
  unsetenv("HF_HUB_CACHE");
  ASSERT_EQ(r.status, 0) << r.output;
  ASSERT_EQ(upscale("-is " + input_).status, 0);
  EXPECT_EQ(read_image(out_ + "/cache_s_7_unl_20_g_5_i_2_step_1.png").data,
            read_image(out_ + "/s_7_unl_20_g_5_i_2_step_1.png").data);
}

// A GIF is upscaled frame by frame (the same seed for each) into a GIF, with dgenerate's frame images.
TEST_F(DiffusionCli, AnimatedGifFrameByFrame) {
  const std::string gif = dir_ + "/anim.gif";
  write_animation(gif, 16, 8, 3);
  const Result r = upscale("-is " + gif);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(written(), (std::vector<std::string>{
                           "ANIM_s_7_unl_20_g_5_i_2_step_1.gif", "s_7_unl_20_g_5_i_2_frame_1_step_1.png",
                           "s_7_unl_20_g_5_i_2_frame_2_step_1.png", "s_7_unl_20_g_5_i_2_frame_3_step_1.png"}));
  auto reader = open_frames(out_ + "/ANIM_s_7_unl_20_g_5_i_2_step_1.gif");
  const std::vector<Frame> frames = test::read_all(*reader);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].image.width, 64);
  EXPECT_EQ(frames[0].image.height, 32);
  EXPECT_EQ(test::durations_in(frames, reader->info().time_base, {1, 1000}), (std::vector<int64_t>{100, 100, 100}));
}

// A video becomes a video of its own kind (ffv1 in mkv here, so the frames compare exactly); -nf: no frame images.
TEST_F(DiffusionCli, VideoFrameByFrame) {
  const std::string video = dir_ + "/clip.mkv";
  write_animation(video, 16, 16, 2);
  const Result r = upscale("-is " + video + " -nf");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(written(), std::vector<std::string>{"ANIM_s_7_unl_20_g_5_i_2_step_1.mkv"});
  const std::vector<Frame> frames = test::read_all(*open_frames(out_ + "/ANIM_s_7_unl_20_g_5_i_2_step_1.mkv"));
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[1].image.width, 64);
  EXPECT_NE(last_line(r.output).find("(2 frames, 64x64)"), std::string::npos) << r.output;
}

// dgenerate's aspect rule: the width kept, the height from the aspect ratio, aligned down to 8; -na: both given.
TEST_F(DiffusionCli, OutputSizeWithAndWithoutAspect) {
  ASSERT_EQ(upscale("-is " + input_ + " -s 40 -op aspect").status, 0);  // 24x16 -> 40x26 -> 40x24
  ASSERT_EQ(upscale("-is " + input_ + " -s 32x32 -na -op na").status, 0);
  const Image aspect = read_image(out_ + "/aspect_s_7_unl_20_g_5_i_2_step_1.png");
  const Image stretched = read_image(out_ + "/na_s_7_unl_20_g_5_i_2_step_1.png");
  EXPECT_EQ(aspect.width, 160);
  EXPECT_EQ(aspect.height, 96);
  EXPECT_EQ(stretched.width, 128);
  EXPECT_EQ(stretched.height, 128);
}

TEST_F(DiffusionCli, BatchImagesAreNumbered) {
  const Result r = upscale("-is " + input_ + " -bs 2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(written(), (std::vector<std::string>{"s_7_unl_20_g_5_i_2_step_1_image_1.png",
                                                 "s_7_unl_20_g_5_i_2_step_1_image_2.png"}));
  EXPECT_NE(read_image(out_ + "/s_7_unl_20_g_5_i_2_step_1_image_1.png").data,
            read_image(out_ + "/s_7_unl_20_g_5_i_2_step_1_image_2.png").data);
}

// Batches of an animation: one animation per batch image (_animation_<n>), frame images per batch image.
TEST_F(DiffusionCli, BatchOfAnAnimation) {
  const std::string gif = dir_ + "/anim.gif";
  write_animation(gif, 8, 8, 2);
  const Result r = upscale("-is " + gif + " -bs 2 -af webp");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::vector<std::string> names = written();
  ASSERT_EQ(names.size(), 6u) << r.output;
  EXPECT_EQ(names[0], "ANIM_s_7_unl_20_g_5_i_2_step_1_animation_1.webp");
  EXPECT_EQ(names[1], "ANIM_s_7_unl_20_g_5_i_2_step_1_animation_2.webp");
  EXPECT_EQ(names[5], "s_7_unl_20_g_5_i_2_frame_2_step_1_image_2.png");
  const std::vector<Frame> second = test::read_all(*open_frames(out_ + "/" + names[1]));
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[1].image.width, 32);
}

// Every combination is one render, in dgenerate's order (noise levels innermost), numbered by _step_<k>.
TEST_F(DiffusionCli, SeedsTimesNoiseLevels) {
  const Result r = upscale("-is " + input_ + " -se 1 2 -uns 10 30 -gs 2.5 -p \"a cat; blurry\"");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(written(), (std::vector<std::string>{"s_1_unl_10_g_2-5_i_2_step_1.png", "s_1_unl_30_g_2-5_i_2_step_2.png",
                                                 "s_2_unl_10_g_2-5_i_2_step_3.png",
                                                 "s_2_unl_30_g_2-5_i_2_step_4.png"}));
  EXPECT_NE(r.output.find("render 4/4"), std::string::npos) << r.output;
}

TEST_F(DiffusionCli, GeneratedSeedsArePrinted) {
  const Result r = upscale("-is " + input_ + " -gse 2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("uprez: random seeds: "), std::string::npos) << r.output;
  EXPECT_EQ(written().size(), 2u);
}

TEST_F(DiffusionCli, PostProcessorsRunOnEachResult) {
  const Result r = upscale("-is " + input_ + " -pp upscaler");
  ASSERT_EQ(r.status, 0) << r.output;
  const Image out = read_image(out_ + "/s_7_unl_20_g_5_i_2_step_1.png");
  EXPECT_EQ(out.width, 384);
  EXPECT_EQ(out.height, 256);
}

TEST_F(DiffusionCli, Float16OnTheCpuSaysSoOnce) {
  const Result r = upscale("-is " + input_ + " -t float16 -d cpu");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string note = "note: --dtype float16 on the CPU computes in float32";
  EXPECT_NE(r.output.find(note), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find(note), r.output.rfind(note)) << r.output;
}

TEST_F(DiffusionCli, ErrorsAreOneLineAndWriteNothing) {
  const std::string f = test::fixtures_root() + "/diffusion/models";
  const std::string x4 = model_ + " -mt torch-upscaler-x4 -is " + input_;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {model_ + " -mt torch-upscaler-x4", "without --image-seeds"},
      {model_ + " -is " + input_, "--model-type: missing"},
      {model_ + " -mt torch -is " + input_, "not an upscaler"},
      {model_ + " -mt sdxl -is " + input_, "not an upscaler"},
      {model_ + " -mt torch-upscaler-x2 -is " + input_, "not implemented yet"},
      {model_ + " -mt upscaler-x2 -is " + input_, "not implemented yet"},
      {model_ + " -mt nonsense -is " + input_, "unknown model type"},
      {model_ + " -mt upscaler-x4 -is " + input_ + " -uns 351", "above the model's max_noise_level, 350"},
      {x4 + " -uns -1", "--upscaler-noise-levels: must be greater than or equal to 0"},
      {x4 + " -s 100", "--output-size 100: the width must be divisible by 8"},
      {x4 + " -s 64x12", "the height must be divisible by 8"},
      {x4 + " -iss 0.5", "-iss/--image-seed-strengths: not taken by --model-type torch-upscaler-x4"},
      {x4 + " --clip-skips 1", "-cs/--clip-skips: only for"},
      {x4 + " --sdxl-refiner x", "--sdxl-refiner: not taken"},
      {x4 + " -igs 2", "-igs/--image-guidance-scales"},
      {x4 + " --loras x.safetensors", "-lra/--loras: not supported by uprez"},
      {x4 + " --bogus", "unknown option \"--bogus\""},
      {model_ + " -mt upscaler-x4 -is " + dir_ + "/missing.png", "missing.png\" does not exist"},
      {dir_ + "/no-model -mt upscaler-x4 -is " + input_, "no-model"},
      {"org/absent -mt upscaler-x4 -is " + input_, "not found in the Hugging Face cache"},
      {f + "/x2_tiny -mt upscaler-x4 -is " + input_, "not StableDiffusionUpscalePipeline"},
      {x4 + " -ifs 0", "--inference-steps"},
      {x4 + " -gs -2", "--guidance-scales"},
      {x4 + " -bs 0", "--batch-size"},
      {x4 + " -se 1 -gse 2", "excludes"},
      {x4 + " -t float8", "--dtype"},
      {x4 + " -d tpu", "--device"},
      {x4 + " -op a/b", "--output-prefix"},
      {x4 + " -pp nothing", "unknown image processor"},
      {x4 + " -af frames -nf", "--no-frames"},
  };
  for (const auto& [args, expected] : cases) {
    const Result r = run_uprez(args + " -o " + out_);
    EXPECT_EQ(r.status, 1) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(expected), std::string::npos) << args << "\n" << r.output;
    EXPECT_EQ(r.output.rfind("uprez: error: ", 0), 0u) << args << "\n" << r.output;
    EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 1) << args << "\n" << r.output;
    EXPECT_FALSE(fs::exists(out_)) << args;
  }
}

TEST_F(DiffusionCli, HelpListsTheOptions) {
  const Result r = run_uprez(model_ + " --help");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("--upscaler-noise-levels"), std::string::npos) << r.output;
  EXPECT_NE(run_uprez("--help").output.find("--model-type torch-upscaler-x4"), std::string::npos);
}

}  // namespace diffusion_cli_test
}  // namespace uprez
