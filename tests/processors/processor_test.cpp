#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "processors/processor.h"
#include "support/error_message.h"
#include "support/fixtures.h"
#include "io/model_file_builders.h"
#include "io/npy.h"
#include "io/safetensors_writer.h"
#include "ncnn/spatial_test_support.h"
#include "support/test_assets.h"

namespace uprez {
namespace processor_test {

class UpscalerProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = test::temp_dir() + "/tiny.safetensors";
    write_safetensors(model_, test::tiny_compact_weights({2, 3, 8, 2}, 7), {});
  }
  std::string model_;
};

TEST(ProcessorRegistry, HelpListsUpscalerAndItsArguments) {
  EXPECT_NE(processor_help().find("\"upscaler\""), std::string::npos);
  const std::string help = processor_help("upscaler");
  for (const char* name : {"model", "tile", "overlap", "scale", "force-tiling", "dtype", "device", "pre-resize",
                           "model-offload", "output-file", "output-overwrite"})
    EXPECT_NE(help.find(std::string("        ") + name + " ("), std::string::npos) << name;
  EXPECT_NE(help.find("default: 512"), std::string::npos);
  EXPECT_THROW(processor_help("nope"), Error);
}

TEST(ProcessorRegistry, UnknownProcessorListsAvailable) {
  EXPECT_NE(uprez::test::error_message_of([] { create_processor("nope;x=1", "cpu"); }).find("available: upscaler"), std::string::npos);
}

TEST_F(UpscalerProcessorTest, ArgumentErrorsNameTheArgument) {
  const std::string m = "upscaler;model=" + model_;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {m + ";bogus=1", "unknown argument \"bogus\", valid arguments: device, dtype"},
      {"upscaler-ncnn;param=x.param", "missing required argument \"model\""},
      {"upscaler;tile=4", "tile is too small"},
      {m + ";tile=abc", "argument \"tile\" must be an integer or \"auto\""},
      {m + ";tile=33", "tile"},
      {m + ";tile=32;overlap=32", "overlap"},
      {m + ";overlap=-1", "overlap"},
      {m + ";force-tiling=yes", "argument \"force-tiling\" must be true or false"},
      {m + ";dtype=int8", "dtype"},
      {m + ";dtype=float16;device=cpu", "argument \"dtype\" float16 needs a CUDA device"},
      {m + ";device=gpu", "device"},
      {m + ";scale=0", "argument \"scale\""},
      {"upscaler;model=/nonexistent/model.pth", "/nonexistent/model.pth"},
  };
  for (const auto& [uri, expected] : cases) {
    const std::string message = uprez::test::error_message_of([&] { create_processor(uri, "cpu"); });
    EXPECT_NE(message.find(expected), std::string::npos) << uri << " -> " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(UpscalerProcessor, WithoutAModelUsesTheBuiltInOne) {
  auto processor = create_processor("upscaler;tile=16;overlap=4", "cpu");
  EXPECT_NE(processor->describe().find("uprez-compact-x4, Compact x4"), std::string::npos) << processor->describe();
  const Image result = processor->apply(test::synthetic_image(9, 7, 3, 8));
  EXPECT_EQ(result.width, 36);
  EXPECT_EQ(result.height, 28);
}

TEST_F(UpscalerProcessorTest, SnakeCaseKeysAreAccepted) {
  EXPECT_NO_THROW(create_processor("upscaler;model=" + model_ + ";force_tiling=true", "cpu"));
}

TEST_F(UpscalerProcessorTest, UpscalesAndKeepsAlphaAndBitDepth) {
  auto processor = create_processor("upscaler;model=" + model_ + ";tile=16;overlap=4", "cpu");
  for (int channels : {1, 2, 3, 4}) {
    for (int depth : {8, 16}) {
      const Image input = test::synthetic_image(23, 17, channels, depth);
      const Image output = processor->apply(input);
      EXPECT_EQ(output.width, 46);
      EXPECT_EQ(output.height, 34);
      EXPECT_EQ(output.channels, channels) << "channels " << channels;
      EXPECT_EQ(output.bit_depth, depth);
    }
  }
}

TEST_F(UpscalerProcessorTest, ScaleArgumentResizesTheResult) {
  auto processor = create_processor("upscaler;model=" + model_ + ";scale=3", "cpu");
  const Image output = processor->apply(test::synthetic_image(10, 7, 3, 8));
  EXPECT_EQ(output.width, 30);
  EXPECT_EQ(output.height, 21);
}

// upscaler-ncnn with a real NCNN model (realesr-animevideov3-x4, 64x16 Compact-like) from the shared models.
class UpscalerNcnnProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string folder = test::models_root() + "/ncnn";
    UPREZ_REQUIRE_PATH(folder);
    model_ = folder + "/realesr-animevideov3-x4.bin";
    param_ = folder + "/realesr-animevideov3-x4.param";
    uri_ = "upscaler-ncnn;model=" + model_ + ";param=" + param_;
  }
  std::string model_, param_, uri_;
};

TEST_F(UpscalerNcnnProcessorTest, ArgumentErrorsFollowDgenerate) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {";tile=3", "argument \"tile\" must be divisible by 2"},
      {";tile=1", "argument \"tile\" must be greater than 2, or exactly 0"},
      {";overlap=-1", "argument \"overlap\" must be greater than or equal to 0"},
      {";tile=16;overlap=20", "argument \"tile\" must be greater than \"overlap\""},
      {";gpu-index=-1", "argument \"gpu-index\" must be greater than or equal to 0"},
      {";threads=0", "argument \"threads\" must be greater than or equal to 1, or \"auto\" or \"half\""},
      {";threads=lots", "argument \"threads\" must be greater than or equal to 1, or \"auto\" or \"half\""},
      {";use-gpu=true;winograd=false", "argument \"winograd\" cannot be specified when running on the gpu"},
      {";use-gpu=true;sgemm=true", "argument \"sgemm\" cannot be specified when running on the gpu"},
      {";use-gpu=true;blocktime=5", "argument \"blocktime\" cannot be specified when running on the gpu"},
      {";blocktime=401", "argument \"blocktime\" cannot be greater than 400"},
      {";blocktime=-1", "argument \"blocktime\" cannot be less than 0"},
      {";device=cpu", "unknown argument \"device\""},
      {";model-offload=true", "unknown argument \"model-offload\""},
      {";input-blob=nowhere", "argument \"input-blob\" names no blob of the network: \"nowhere\""},
      {";output-blob=nowhere", "argument \"output-blob\" names no blob of the network: \"nowhere\""},
  };
  for (const auto& [arguments, expected] : cases) {
    const std::string message = uprez::test::error_message_of([&] { create_processor(uri_ + arguments, "cpu"); });
    EXPECT_NE(message.find(expected), std::string::npos) << arguments << ": " << message;
  }
  EXPECT_NE(uprez::test::error_message_of([&] { create_processor("upscaler-ncnn;model=/no/x.bin;param=" + param_, "cpu"); })
                .find("Model file does not exist: /no/x.bin"),
            std::string::npos);
  EXPECT_NE(uprez::test::error_message_of([&] { create_processor("upscaler-ncnn;model=" + model_ + ";param=/no/x.param", "cpu"); })
                .find("Param file does not exist: /no/x.param"),
            std::string::npos);
}

TEST_F(UpscalerNcnnProcessorTest, UpscalesTiledAndKeepsAlpha) {
  auto untiled = create_processor(uri_ + ";tile=0;threads=1", "cpu");
  auto tiled = create_processor(uri_ + ";tile=16;overlap=8;threads=1", "cpu");
  const Image input = test::synthetic_image(30, 22, 4, 8);
  const Image whole = untiled->apply(input);
  const Image tiles = tiled->apply(input);
  ASSERT_EQ(whole.width, 120);
  ASSERT_EQ(whole.height, 88);
  EXPECT_EQ(whole.channels, 4);
  ASSERT_EQ(tiles.data.size(), whole.data.size());
  // The network's receptive field is wider than the overlap, so tiles differ a little; no seams means no large
  // differences anywhere.
  int largest = 0;
  for (size_t i = 0; i < whole.data.size(); ++i)
    largest = std::max(largest, std::abs(int(whole.data[i]) - int(tiles.data[i])));
  EXPECT_LE(largest, 24);
}

// Graphs with 1 or 4 channels run when the graph says so (dgenerate refuses them): a 3x3 convolution to
// channels * 4, a pixel shuffle by 2 and a clip to [0, 0.25] (the default output; output-blob=out skips it).
TEST(UpscalerNcnnChannels, GreyAndRgbaGraphsRun) {
  torch::manual_seed(5);
  for (const int channels : {1, 4}) {
    const std::string dir = test::temp_dir();
    const int outputs = channels * 4;
    uprez::test::write_file(dir + "/net.param",
                           "7767517\n4 4\nInput in 0 1 data\nConvolution conv 1 1 data c 0=" + std::to_string(outputs) +
                               " 1=3 4=1 5=1 6=" + std::to_string(outputs * channels * 9) +
                               "\nPixelShuffle shuffle 1 1 c out 0=2\nClip clip 1 1 out clipped 0=0 1=0.25\n");
    const std::vector<uint8_t> bin = ncnn::test::bin_bytes(
        {ncnn::test::flagged_buffer(torch::rand({outputs, channels, 3, 3}) * 0.2),
         ncnn::test::raw_buffer(torch::rand({outputs}) * 0.1)});
    uprez::test::write_file(dir + "/net.bin", std::string(bin.begin(), bin.end()));
    auto processor =
        create_processor("upscaler-ncnn;model=" + dir + "/net.bin;param=" + dir + "/net.param;tile=16;overlap=2", "cpu");
    for (const int image_channels : {1, 3, 4}) {
      const Image output = processor->apply(test::synthetic_image(23, 19, image_channels, 8));
      EXPECT_EQ(output.width, 46) << channels << " " << image_channels;
      EXPECT_EQ(output.height, 38) << channels << " " << image_channels;
      // As with `upscaler`: the model's channels become the colour channels, a separate alpha is upscaled too.
      const int expected_channels = channels == 4 ? 4 : 1 + (image_channels == 4 ? 1 : 0);
      EXPECT_EQ(output.channels, expected_channels) << channels << " " << image_channels;
      if (expected_channels != 2) {  // every sample went through the clip (not a separately upscaled alpha)
        EXPECT_LE(*std::max_element(output.data.begin(), output.data.end()), 64);
      }
    }
    auto unclipped = create_processor(
        "upscaler-ncnn;model=" + dir + "/net.bin;param=" + dir + "/net.param;tile=0;output-blob=out", "cpu");
    const Image output = unclipped->apply(test::synthetic_image(23, 19, channels, 8));
    EXPECT_GT(*std::max_element(output.data.begin(), output.data.end()), 64);
  }
}

// The (3, h, w) tensor of an 8-bit RGB image, in [0, 1].
Image rgb_image_of(const torch::Tensor& pixels) {
  const torch::Tensor bytes = (pixels * 255).round().clamp(0, 255).to(torch::kUInt8).permute({1, 2, 0}).contiguous();
  Image image(static_cast<int>(pixels.size(2)), static_cast<int>(pixels.size(1)), 3, 8);
  std::copy(bytes.data_ptr<uint8_t>(), bytes.data_ptr<uint8_t>() + bytes.numel(), image.data.begin());
  return image;
}

// waifu2x and Real-CUGAN graphs crop their input: the processor pads each tile as their apps do, so a whole-image
// run gives the apps' pixels (the fixture's raw output, plus Real-CUGAN 4x's nearest base, rounded as the apps
// round); tiled runs and images smaller than the padding work too.
TEST(UpscalerNcnnSelfCropping, WholeImageRunsGiveTheAppsPixels) {
  const std::string models = test::models_root() + "/ncnn";
  const std::string fixtures = test::fixtures_root() + "/ncnn";
  UPREZ_REQUIRE_PATH(models);
  UPREZ_REQUIRE_PATH(fixtures);
  for (const auto& [model, prepadding, scale] : {std::tuple{"realcugan-se-up4x-conservative", 19, 4},
                                                 std::tuple{"waifu2x-cunet-noise0_scale2.0x", 18, 2}}) {
    SCOPED_TRACE(model);
    const std::string case_dir = fixtures + "/" + model + "/chelsea_24x32";
    UPREZ_REQUIRE_PATH(case_dir);
    const std::string uri =
        "upscaler-ncnn;model=" + models + "/" + model + ".bin;param=" + models + "/" + model + ".param;threads=2";
    const torch::Tensor image =
        read_npy(case_dir + "/input.npy")[0].slice(1, prepadding, prepadding + 24).slice(2, prepadding, prepadding + 32);
    torch::Tensor expected = read_npy(case_dir + "/output.npy")[0];
    if (scale == 4) expected = expected + image.repeat_interleave(4, 1).repeat_interleave(4, 2);
    const torch::Tensor expected_bytes = (expected * 255 + 0.5).floor().clamp(0, 255).permute({1, 2, 0}).flatten();

    auto whole = create_processor(uri + ";tile=0", "cpu");
    EXPECT_NE(whole->describe().find("padded by " + std::to_string(prepadding) + " px"), std::string::npos)
        << whole->describe();
    const Image output = whole->apply(rgb_image_of(image));
    ASSERT_EQ(output.width, 32 * scale);
    ASSERT_EQ(output.height, 24 * scale);
    const torch::Tensor output_bytes =
        torch::tensor(std::vector<float>(output.data.begin(), output.data.end()));
    EXPECT_LE((output_bytes - expected_bytes).abs().max().item<float>(), 1.f);

    auto tiled = create_processor(uri + ";tile=16;overlap=8", "cpu");
    const Image tiles = tiled->apply(rgb_image_of(image));
    ASSERT_EQ(tiles.data.size(), output.data.size());
    for (const auto& [width, height] : {std::pair{1, 1}, std::pair{3, 2}, std::pair{17, 5}}) {
      const Image small = whole->apply(test::synthetic_image(width, height, 4, 8));
      EXPECT_EQ(small.width, width * scale);
      EXPECT_EQ(small.height, height * scale);
      EXPECT_EQ(small.channels, 4);
    }
  }
}

}  // namespace processor_test
}  // namespace uprez
