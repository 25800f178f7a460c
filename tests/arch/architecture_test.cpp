#include "arch/architecture.h"
#include "arch/blocks.h"
#include "nn/any_dtype.h"
#include "nn/load_weights.h"

#include <gtest/gtest.h>

#include "arch/arch_test_util.h"
#include "core/error.h"

namespace uprez {
namespace architecture_test {

using test::random_image;

// ---- SizeRequirements ----

TEST(SizeRequirements, DefaultIsNone) {
  const SizeRequirements none;
  EXPECT_TRUE(none.none());
  EXPECT_EQ(none.padding(1, 1), std::make_pair(0, 0));
  EXPECT_EQ(none.padding(37, 5), std::make_pair(0, 0));
}

TEST(SizeRequirements, MinimumIsRoundedUpToMultiple) {
  EXPECT_EQ(SizeRequirements(2, 4).minimum, 4);
  EXPECT_EQ(SizeRequirements(8, 4).minimum, 8);
  EXPECT_EQ(SizeRequirements(9, 8).minimum, 16);
  EXPECT_EQ(SizeRequirements(0, 16).minimum, 0);
  EXPECT_FALSE(SizeRequirements(0, 2).none());
}

TEST(SizeRequirements, RejectsInvalidValues) {
  EXPECT_THROW(SizeRequirements(-1), Error);
  EXPECT_THROW(SizeRequirements(0, 0), Error);
}

TEST(SizeRequirements, PaddingForMinimum) {
  const SizeRequirements requirements(2);
  EXPECT_EQ(requirements.padding(1, 1), std::make_pair(1, 1));
  EXPECT_EQ(requirements.padding(1, 5), std::make_pair(1, 0));
  EXPECT_EQ(requirements.padding(2, 2), std::make_pair(0, 0));
}

TEST(SizeRequirements, PaddingForMultiple) {
  const SizeRequirements requirements(0, 8);
  EXPECT_EQ(requirements.padding(1, 1), std::make_pair(7, 7));
  EXPECT_EQ(requirements.padding(16, 17), std::make_pair(0, 7));
  EXPECT_EQ(requirements.padding(0, 0), std::make_pair(0, 0));
}

TEST(SizeRequirements, PaddingForMinimumAndMultiple) {
  const SizeRequirements requirements(2, 4);  // minimum becomes 4
  EXPECT_EQ(requirements.padding(1, 1), std::make_pair(3, 3));
  EXPECT_EQ(requirements.padding(5, 4), std::make_pair(3, 0));
}

TEST(SizeRequirements, PaddingForSquare) {
  const SizeRequirements square(0, 1, true);
  EXPECT_EQ(square.padding(10, 7), std::make_pair(0, 3));
  EXPECT_EQ(square.padding(3, 9), std::make_pair(6, 0));
  const SizeRequirements square_multiple(16, 8, true);
  EXPECT_EQ(square_multiple.padding(17, 3), std::make_pair(7, 21));
}

TEST(EnumNames, AreSpandrelNames) {
  EXPECT_STREQ(to_string(Tiling::Supported), "supported");
  EXPECT_STREQ(to_string(Tiling::Discouraged), "discouraged");
  EXPECT_STREQ(to_string(Tiling::Internal), "internal");
  EXPECT_STREQ(to_string(Purpose::SR), "SR");
  EXPECT_STREQ(to_string(Purpose::FaceSR), "FaceSR");
  EXPECT_STREQ(to_string(Purpose::Inpainting), "Inpainting");
  EXPECT_STREQ(to_string(Purpose::Restoration), "Restoration");
}

// ---- Model call: padding, clamping, cropping ----

// Multiplies by a learnable gain, upscales by nearest neighbour and remembers what it was given.
class RecordingUpscaler : public Network {
 public:
  explicit RecordingUpscaler(int scale) : scale_(scale) { gain_ = register_parameter("gain", torch::ones({1})); }
  torch::Tensor forward(torch::Tensor x) override {
    last_input = x.clone();
    return upscale_nearest(x * gain_, scale_);
  }
  torch::Tensor last_input;

 private:
  int scale_;
  torch::Tensor gain_;
};

Model recording_model(int scale, SizeRequirements requirements) {
  Model model;
  model.info.architecture_id = "Recording";
  model.info.scale = scale;
  model.info.size_requirements = requirements;
  model.network = std::make_shared<RecordingUpscaler>(scale);
  return model;
}

const RecordingUpscaler& recorder(const Model& model) {
  return static_cast<const RecordingUpscaler&>(*model.network);
}

TEST(ModelCall, PadsByReflectionThenReplicationAndCrops) {
  Model model = recording_model(2, SizeRequirements(4));
  const torch::Tensor input = torch::tensor({0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}).view({1, 1, 2, 3});
  const torch::Tensor output = model(input);

  // width 3 -> 4: one reflected column; height 2 -> 4: one reflected row (size - 1), then one replicated row.
  const torch::Tensor expected_padded =
      torch::tensor({0.1f, 0.2f, 0.3f, 0.2f, 0.4f, 0.5f, 0.6f, 0.5f, 0.1f, 0.2f, 0.3f, 0.2f, 0.1f, 0.2f, 0.3f, 0.2f})
          .view({1, 1, 4, 4});
  EXPECT_TRUE(torch::equal(recorder(model).last_input, expected_padded));
  EXPECT_EQ(output.sizes(), (std::vector<int64_t>{1, 1, 4, 6}));
  EXPECT_TRUE(torch::equal(output, upscale_nearest(input, 2)));
}

TEST(ModelCall, PadsOnePixelImageByReplication) {
  Model model = recording_model(1, SizeRequirements(2, 1, true));
  const torch::Tensor input = torch::full({1, 3, 1, 1}, 0.25f);
  const torch::Tensor output = model(input);
  EXPECT_TRUE(torch::equal(recorder(model).last_input, torch::full({1, 3, 2, 2}, 0.25f)));
  EXPECT_TRUE(torch::equal(output, input));
}

TEST(ModelCall, PadsToSquareMultiple) {
  Model model = recording_model(1, SizeRequirements(0, 4, true));
  const torch::Tensor input = random_image(3, 5, 10);
  const torch::Tensor output = model(input);
  EXPECT_EQ(recorder(model).last_input.sizes(), (std::vector<int64_t>{1, 3, 12, 12}));
  EXPECT_TRUE(torch::equal(output, input));
}

TEST(ModelCall, LeavesSatisfyingInputAloneAndClamps) {
  Model model = recording_model(3, SizeRequirements(2));
  auto& network = static_cast<RecordingUpscaler&>(*model.network);
  network.named_parameters()["gain"].data().fill_(3.0);
  const torch::Tensor input = random_image(3, 4, 5);
  const torch::Tensor output = model(input);
  EXPECT_TRUE(torch::equal(network.last_input, input));
  EXPECT_EQ(output.sizes(), (std::vector<int64_t>{1, 3, 12, 15}));
  EXPECT_TRUE(torch::equal(output, upscale_nearest(input * 3, 3).clamp(0, 1)));
}

TEST(ModelCall, RejectsNon4dInput) {
  Model model = recording_model(1, SizeRequirements());
  EXPECT_THROW(model(torch::rand({3, 4, 4})), Error);
}

TEST(ModelCall, ConvertsInputToModelDtype) {
  Model model = recording_model(1, SizeRequirements());
  model.to(torch::kCPU, torch::kFloat64);
  EXPECT_EQ(model.dtype(), torch::kFloat64);
  EXPECT_EQ(model(random_image(1, 2, 2)).scalar_type(), torch::kFloat64);
  EXPECT_EQ(model.device(), torch::Device(torch::kCPU));
}

TEST(ModelTo, RefusesUnsupportedDtypes) {
  Model model = recording_model(1, SizeRequirements());
  model.info.supports_half = false;
  try {
    model.to(torch::kCPU, torch::kFloat16);
    FAIL() << "float16 accepted";
  } catch (const Error& error) {
    EXPECT_STREQ(error.what(), "dtype: Recording does not support float16");
  }
  model.to(torch::kCPU, torch::kBFloat16);
  EXPECT_EQ(model.dtype(), torch::kBFloat16);

  model.info.supports_half = true;
  model.info.supports_bfloat16 = false;
  EXPECT_THROW(model.to(torch::kCPU, torch::kBFloat16), Error);
  model.to(torch::kCPU, torch::kFloat16);
  EXPECT_EQ(model.dtype(), torch::kFloat16);
}

// ---- load_weights ----

struct TwoLayers : torch::nn::Module {
  TwoLayers() {
    register_module("first", same_conv(3, 4, 3));
    register_module("second", same_conv(4, 3, 1, /*bias=*/false));
    register_buffer("running", torch::zeros({2}));
  }
};

StateDict two_layer_state() {
  StateDict state;
  state.set("first.weight", torch::full({4, 3, 3, 3}, 0.5, torch::kFloat16));
  state.set("first.bias", torch::ones({4}));
  state.set("second.weight", torch::ones({3, 4, 1, 1}));
  state.set("running", torch::full({2}, 7.0));
  return state;
}

std::string load_error(torch::nn::Module& module, const StateDict& state) {
  try {
    load_weights(module, state);
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(LoadWeights, CopiesByNameAndConvertsDtype) {
  TwoLayers module;
  load_weights(module, two_layer_state());
  const auto parameters = module.named_parameters();
  EXPECT_EQ(parameters["first.weight"].scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::equal(parameters["first.weight"], torch::full({4, 3, 3, 3}, 0.5)));
  EXPECT_TRUE(torch::equal(module.named_buffers()["running"], torch::full({2}, 7.0)));
}

TEST(LoadWeights, NamesTheMissingKey) {
  TwoLayers module;
  StateDict state = two_layer_state();
  state.erase("first.bias");
  EXPECT_NE(load_error(module, state).find("\"first.bias\""), std::string::npos);
}

TEST(LoadWeights, NamesTheUnexpectedKey) {
  TwoLayers module;
  StateDict state = two_layer_state();
  state.set("second.bias", torch::ones({3}));
  EXPECT_NE(load_error(module, state).find("unexpected weight \"second.bias\""), std::string::npos);
}

TEST(LoadWeights, NamesTheKeyWithTheWrongShape) {
  TwoLayers module;
  StateDict state = two_layer_state();
  state.set("second.weight", torch::ones({3, 4, 3, 3}));
  EXPECT_EQ(load_error(module, state), "model weight \"second.weight\" has shape [3, 4, 3, 3], expected [3, 4, 1, 1]");
}

// ---- registry ----

TEST(Registry, ListsSpandrelOrder) {
  std::vector<std::string> ids;
  for (const Architecture& arch : architectures()) ids.push_back(arch.id);
  EXPECT_EQ(ids, (std::vector<std::string>{
                     "Compact", "SwiftSRGAN", "HAT",    "GRL",     "Swin2SR", "SwinIR",  "OmniSR",
                     "RGT",     "DAT",        "CRAFT",  "DITN",    "MMRealSR", "SPAN",   "RealCUGAN",
                     "SAFMN",   "DCTLSA",     "ATD",    "IPT",     "DRCT",    "ESRGAN",  "PLKSR",
                     "SeemoRe", "MoSR",       "MoESR",  "RCAN",    "FDAT",    "AuraSR",  "SRFormer"}));
}

TEST(Registry, RejectsUnknownStateDictListingItsKeys) {
  StateDict state;
  state.set("encoder.weight", torch::ones({1}));
  try {
    load_model(state, "mystery.pth");
    FAIL() << "unknown state dict accepted";
  } catch (const Error& error) {
    const std::string message = error.what();
    EXPECT_NE(message.find("mystery.pth"), std::string::npos);
    EXPECT_NE(message.find("encoder.weight"), std::string::npos);
  }
}

}  // namespace architecture_test
}  // namespace uprez
