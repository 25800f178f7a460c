#include <gtest/gtest.h>

#include "core/error.h"
#include "processors/processor.h"
#include "support/fixtures.h"
#include "io/safetensors_writer.h"
#include "support/test_assets.h"

using namespace uprez;

namespace {

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

class UpscalerProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = test::temp_dir() + "/tiny.safetensors";
    write_safetensors(model_, test::tiny_compact_weights({2, 3, 8, 2}, 7), {});
  }
  std::string model_;
};

}  // namespace

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
  EXPECT_NE(message_of([] { create_processor("nope;x=1", "cpu"); }).find("available: upscaler"), std::string::npos);
}

TEST_F(UpscalerProcessorTest, ArgumentErrorsNameTheArgument) {
  const std::string m = "upscaler;model=" + model_;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {m + ";bogus=1", "unknown argument \"bogus\", valid arguments: device, dtype"},
      {"upscaler;tile=4", "missing required argument \"model\""},
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
    const std::string message = message_of([&] { create_processor(uri, "cpu"); });
    EXPECT_NE(message.find(expected), std::string::npos) << uri << " -> " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
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
