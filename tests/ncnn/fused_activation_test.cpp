// The activations fused into ncnn's convolutions and inner products, against a literal port of ncnn's activation_ss.
#include "ncnn/fused_activation.h"

#include <algorithm>
#include <cmath>

#include "ncnn/spatial_test_support.h"

namespace uprez::ncnn::test {
namespace fused_activation_test {

// ncnn's activation_ss (src/layer/fused_activation.h), element by element.
float ncnn_activation(float v, int type, const std::vector<float>& params) {
  switch (type) {
    case 1: return std::fmax(v, 0.f);
    case 2: return v > 0.f ? v : v * params[0];
    case 3: return v < params[0] ? params[0] : (v > params[1] ? params[1] : v);
    case 4: {
      v = std::min(v, 88.3762626647949f);
      v = std::max(v, -88.3762626647949f);
      return 1.f / (1.f + std::exp(-v));
    }
    case 5: return v * std::tanh(std::log(std::exp(v) + 1.f));
    case 6: {
      const float lower = -params[1] / params[0];
      const float upper = (1.f / params[0]) + lower;
      if (v < lower) return 0.f;
      if (v > upper) return v;
      return v * (v * params[0] + params[1]);
    }
    default: return v;
  }
}

FusedActivation load_activation(const std::string& params) {
  std::istringstream words(params);
  std::vector<std::string> tokens;
  for (std::string token; words >> token;) tokens.push_back(token);
  return FusedActivation::load(parse_param_pairs(tokens, kContext));
}

const std::vector<float> kValues = {-100.f, -90.f, -7.5f, -3.f, -2.5f, -1.f, -0.3f, 0.f,
                                    0.2f,   0.5f,  1.f,   2.5f, 3.f,   6.f,  30.f,  95.f};

void expect_matches_ncnn(const std::string& params, int type, const std::vector<float>& activation_params) {
  SCOPED_TRACE(params);
  const FusedActivation activation = load_activation(params);
  const torch::Tensor input = torch::tensor(kValues);
  std::vector<float> expected;
  for (const float value : kValues) expected.push_back(ncnn_activation(value, type, activation_params));
  expect_close(activation.apply(input.clone()), torch::tensor(expected), 1e-6);
}

TEST(NcnnFusedActivationTest, MatchesNcnnFormulas) {
  expect_matches_ncnn("", 0, {});
  expect_matches_ncnn("9=1", 1, {});
  expect_matches_ncnn("9=2 -23310=1,0.1", 2, {0.1f});
  expect_matches_ncnn("9=3 -23310=2,-1.5,2.0", 3, {-1.5f, 2.f});
  expect_matches_ncnn("9=4", 4, {});
  expect_matches_ncnn("9=5", 5, {});
  expect_matches_ncnn("9=6 -23310=2,0.2,0.5", 6, {0.2f, 0.5f});
  expect_matches_ncnn("9=6 10=0.1666667,0.5", 6, {0.1666667f, 0.5f});
}

TEST(NcnnFusedActivationTest, FusesOnlyWhatOneDnnComputesTheSameWay) {
  PostOps relu_post, leaky_post, sigmoid_post;
  EXPECT_TRUE(load_activation("9=1").append_to(relu_post));
  EXPECT_TRUE(load_activation("9=2 -23310=1,0.2").append_to(leaky_post));
  ASSERT_EQ(leaky_post.ops().size(), 1u);
  EXPECT_EQ(leaky_post.ops()[0].kind, PostOps::Kind::LeakyRelu);
  EXPECT_FLOAT_EQ(static_cast<float>(leaky_post.ops()[0].value), 0.2f);
  EXPECT_FALSE(load_activation("9=4").append_to(sigmoid_post));
  EXPECT_TRUE(sigmoid_post.empty());
  PostOps none_post;
  EXPECT_FALSE(load_activation("").append_to(none_post));
}

TEST(NcnnFusedActivationTest, RejectsUnknownTypesAndMissingParameters) {
  expect_layer_error([] { load_activation("9=7"); }, "parameter 9: unsupported activation type 7");
  expect_layer_error([] { load_activation("9=2"); }, "parameter 10: activation type 2 needs 1 value, got 0");
  expect_layer_error([] { load_activation("9=3 -23310=1,0.5"); }, "needs 2 values, got 1");
}

}  // namespace fused_activation_test
}  // namespace uprez::ncnn::test
