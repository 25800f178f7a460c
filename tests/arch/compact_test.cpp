#include "arch/compact.h"
#include "arch/detection.h"
#include "nn/any_dtype.h"

#include <gtest/gtest.h>

#include "arch/arch_test_util.h"
#include "core/error.h"

namespace uprez {
namespace compact_test {

using test::max_abs_difference;
using test::random_image;
using test::state_dict_of;

CompactOptions options(int in_channels, int out_channels, int num_feat, int num_conv, int upscale) {
  CompactOptions result;
  result.num_in_ch = in_channels;
  result.num_out_ch = out_channels;
  result.num_feat = num_feat;
  result.num_conv = num_conv;
  result.upscale = upscale;
  return result;
}

std::shared_ptr<CompactNetwork> build(const CompactOptions& options) {
  torch::manual_seed(3);
  auto network = std::make_shared<CompactNetwork>(options);
  network->eval();
  return network;
}

TEST(Compact, DetectsHyperparameters) {
  struct Case {
    int channels, num_feat, num_conv, upscale;
  };
  for (const Case c : {Case{3, 16, 4, 4}, Case{3, 24, 6, 2}, Case{3, 12, 3, 3}, Case{1, 8, 2, 1}, Case{4, 8, 1, 2}}) {
    auto network = build(options(c.channels, c.channels, c.num_feat, c.num_conv, c.upscale));
    const StateDict state = state_dict_of(*network);
    ASSERT_TRUE(kCompactArchitecture.detect(state));
    const Model model = load_model(state, "compact.pth");
    EXPECT_EQ(model.info.architecture_id, "Compact");
    EXPECT_EQ(model.info.architecture_name, "RealESRGAN Compact");
    EXPECT_EQ(model.info.scale, c.upscale);
    EXPECT_EQ(model.info.input_channels, c.channels);
    EXPECT_EQ(model.info.output_channels, c.channels);
    EXPECT_EQ(model.info.purpose, c.upscale == 1 ? Purpose::Restoration : Purpose::SR);
    EXPECT_EQ(model.info.tags, (std::vector<std::string>{std::to_string(c.num_feat) + "nf",
                                                          std::to_string(c.num_conv) + "nc"}));
    EXPECT_TRUE(model.info.size_requirements.none());
    EXPECT_EQ(model.info.hyperparameters,
              nlohmann::json({{"num_in_ch", c.channels}, {"num_out_ch", c.channels}, {"num_feat", c.num_feat},
                              {"num_conv", c.num_conv}, {"upscale", c.upscale}, {"act_type", "prelu"}}));

    torch::NoGradGuard no_grad;
    const torch::Tensor x = random_image(c.channels, 5, 7);
    EXPECT_EQ(max_abs_difference(model.network->forward(x), network->forward(x)), 0.0);
  }
}

TEST(Compact, PrefersInputChannelCountForOutput) {
  // 12 = 2^2 * 3 = 1^2 * 12: spandrel tries the input channel count first, then 3, 4, 1.
  EXPECT_EQ(scale_and_output_channels(12, 3), std::make_pair(2, 3));
  EXPECT_EQ(scale_and_output_channels(16, 1), std::make_pair(4, 1));
  EXPECT_EQ(scale_and_output_channels(16, 3), std::make_pair(2, 4));
  EXPECT_THROW(scale_and_output_channels(10, 3), Error);
}

TEST(Compact, AddsNearestUpscaledInput) {
  auto network = build(options(3, 3, 8, 2, 3));
  for (auto& parameter : network->parameters()) parameter.data().zero_();
  torch::NoGradGuard no_grad;
  const torch::Tensor x = random_image(3, 4, 6);
  EXPECT_TRUE(torch::equal(network->forward(x), upscale_nearest(x, 3)));
}

TEST(Compact, SupportsOtherActivations) {
  for (const char* activation : {"relu", "leakyrelu"}) {
    CompactOptions relu = options(3, 3, 8, 2, 2);
    relu.act_type = activation;
    // Activations without weights leave gaps in body.N, so spandrel (and uprez) detect only PReLU models.
    EXPECT_FALSE(kCompactArchitecture.detect(state_dict_of(*build(relu))));
    torch::NoGradGuard no_grad;
    EXPECT_EQ(build(relu)->forward(random_image(3, 4, 4)).sizes(), (std::vector<int64_t>{1, 3, 8, 8}));
  }
}

TEST(Compact, RejectsCompactLikeStateDicts) {
  StateDict only_convs;
  only_convs.set("body.0.weight", torch::ones({8, 3, 3, 3}));
  only_convs.set("body.2.weight", torch::ones({8, 8, 3, 3}));
  EXPECT_FALSE(kCompactArchitecture.detect(only_convs));
  EXPECT_THROW(load_model(only_convs, "not-compact.pth"), Error);

  // Has both detection keys but body.1 is a convolution, not a PReLU: claimed, then refused on load.
  StateDict conv_stack = only_convs;
  conv_stack.set("body.1.weight", torch::ones({8, 8, 3, 3}));
  conv_stack.set("body.1.bias", torch::ones({8}));
  ASSERT_TRUE(kCompactArchitecture.detect(conv_stack));
  EXPECT_THROW(load_model(conv_stack, "not-compact.pth"), Error);
}

}  // namespace compact_test
}  // namespace uprez
