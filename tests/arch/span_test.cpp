#include "arch/span.h"

#include <gtest/gtest.h>

#include "arch/arch_test_util.h"
#include "core/error.h"

namespace uprez {
namespace span_test {

using test::max_abs_difference;
using test::random_image;
using test::state_dict_of;

SpanOptions options(int channels, int feature_channels, int upscale, bool norm) {
  SpanOptions result;
  result.num_in_ch = result.num_out_ch = channels;
  result.feature_channels = feature_channels;
  result.upscale = upscale;
  result.norm = norm;
  return result;
}

// A state dict as a trained SPAN file has it: random sk/conv weights and a stale eval_conv.
StateDict trained_state(const SpanOptions& options) {
  torch::manual_seed(5);
  SpanNetwork network(options);
  return state_dict_of(network);
}

// Conv3XC as trained: conv chain on the zero-padded input plus the 1x1 skip conv.
torch::Tensor unfused_conv(const StateDict& state, const std::string& name, const torch::Tensor& x) {
  const auto weight = [&](const std::string& layer) { return state.at(name + "." + layer + ".weight"); };
  const auto bias = [&](const std::string& layer) { return state.at(name + "." + layer + ".bias"); };
  torch::Tensor chain = torch::constant_pad_nd(x, {1, 1, 1, 1});
  for (const char* layer : {"conv.0", "conv.1", "conv.2"}) chain = torch::conv2d(chain, weight(layer), bias(layer));
  return chain + torch::conv2d(x, weight("sk"), bias("sk"));
}

TEST(Span, DetectsHyperparameters) {
  const StateDict state = trained_state(options(3, 8, 4, true));
  ASSERT_TRUE(kSpanArchitecture.detect(state));
  const Model model = load_model(state, "span.pth");
  EXPECT_EQ(model.info.architecture_id, "SPAN");
  EXPECT_EQ(model.info.architecture_name, "SPAN");
  EXPECT_EQ(model.info.scale, 4);
  EXPECT_EQ(model.info.purpose, Purpose::SR);
  EXPECT_EQ(model.info.tags, std::vector<std::string>{"8nf"});
  EXPECT_TRUE(model.info.size_requirements.none());
  EXPECT_EQ(model.info.hyperparameters,
            nlohmann::json({{"num_in_ch", 3}, {"num_out_ch", 3}, {"feature_channels", 8}, {"upscale", 4},
                            {"bias", true}, {"norm", true}, {"img_range", 255.0},
                            {"rgb_mean", {0.4488, 0.4371, 0.4040}}}));
  EXPECT_EQ(model(random_image(3, 5, 6)).sizes(), (std::vector<int64_t>{1, 3, 20, 24}));
}

TEST(Span, DetectsMissingNormalisationFromNoNormBuffer) {
  const StateDict state = trained_state(options(1, 8, 1, false));
  ASSERT_TRUE(state.contains("no_norm"));
  const Model model = load_model(state, "gray.safetensors");
  EXPECT_EQ(model.info.hyperparameters["norm"], false);
  EXPECT_EQ(model.info.input_channels, 1);
  EXPECT_EQ(model.info.purpose, Purpose::Restoration);
  EXPECT_EQ(model(random_image(1, 4, 5)).sizes(), (std::vector<int64_t>{1, 1, 4, 5}));
}

TEST(Span, GrayModelWithNormalisationFailsLikeSpandrel) {
  // spandrel subtracts a 3-channel mean, which turns a gray input into 3 channels.
  const Model model = load_model(trained_state(options(1, 8, 2, true)), "gray-norm.pth");
  EXPECT_ANY_THROW(model(random_image(1, 4, 4)));
}

TEST(Span, RecomputesFusedConvsFromTrainedWeights) {
  const StateDict state = trained_state(options(3, 8, 2, false));
  const Model model = load_model(state, "span.pth");
  const auto parameters = model.network->named_parameters();
  const torch::Tensor x = random_image(8, 6, 7);
  for (const std::string name : {"conv_2", "block_1.c1_r", "block_6.c3_r"}) {
    const torch::Tensor fused = parameters[name + ".eval_conv.weight"];
    EXPECT_FALSE(torch::equal(fused, state.at(name + ".eval_conv.weight"))) << name;
    torch::NoGradGuard no_grad;
    const torch::Tensor fused_output = torch::conv2d(x, fused, parameters[name + ".eval_conv.bias"], 1, 1);
    EXPECT_LT(max_abs_difference(fused_output, unfused_conv(state, name, x)), 1e-5) << name;
  }
}

TEST(Span, RejectsIncompleteKeySets) {
  StateDict state = trained_state(options(3, 8, 2, true));
  state.erase("conv_2.eval_conv.weight");
  EXPECT_FALSE(kSpanArchitecture.detect(state));
}

}  // namespace span_test
}  // namespace uprez
