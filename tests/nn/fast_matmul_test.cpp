#include "nn/fast_matmul.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace uprez {
namespace fast_matmul_test {

namespace F = torch::nn::functional;

// float32 products of up to a few hundred terms: within 1e-5 of the double-precision result's magnitude.
void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, const std::string& what) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  ASSERT_EQ(actual.scalar_type(), expected.scalar_type()) << what;
  if (expected.numel() == 0) return;
  const torch::Tensor exact = expected.to(torch::kDouble);
  const double scale = std::max(1.0, exact.abs().max().item<double>());
  EXPECT_LE((actual.to(torch::kDouble) - exact).abs().max().item<double>(), 1e-5 * scale) << what;
}

std::string shape(const torch::Tensor& t) {
  std::string text;
  for (int64_t size : t.sizes()) text += (text.empty() ? "" : "x") + std::to_string(size);
  return text;
}

TEST(FastMatmul, MatchesTorchMatmulForEveryLayoutAndBroadcast) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  struct Case {
    torch::Tensor a, b;
  };
  const auto r = [](std::vector<int64_t> sizes) { return torch::randn(sizes); };
  std::vector<Case> cases = {
      {r({5, 7}), r({7, 3})},                                 // plain 2-D
      {r({1, 1}), r({1, 1})},                                 // 1x1x1
      {r({4, 1, 9}), r({4, 9, 1})},                           // rows and columns of one
      {r({6, 3, 64, 10}), r({6, 3, 64, 10}).transpose(-2, -1)},  // attention logits: k transposed
      {r({6, 3, 64, 64}), r({6, 3, 64, 10})},                 // attention times values
      {r({2, 5, 8}), r({8, 4})},                              // batch times one matrix (linear)
      {r({2, 8, 5}).transpose(1, 2), r({8, 4})},              // non-contiguous rows
      {r({3, 1, 4, 6}), r({1, 2, 6, 5})},                     // broadcast both ways
      {r({4, 6}), r({3, 6, 2})},                              // a 2-D left operand shared by a batch
      {r({2, 3, 4, 6}).permute({0, 2, 1, 3}), r({2, 4, 6, 5})},  // batch strides that do not flatten
      {r({2, 9, 12}).narrow(2, 1, 6), r({2, 6, 3})},          // rows with a gap
      {r({2, 3, 0}), r({2, 0, 4})},                           // empty inner dimension: zeros
      {r({0, 3, 4}), r({0, 4, 2})},                           // empty batch
      {r({2, 4, 4}).transpose(1, 2).contiguous().transpose(1, 2), r({4, 4})},
      {r({2, 6, 8}).transpose(-2, -1), r({2, 3, 6}).transpose(-2, -1)},  // both column-major
  };
  for (const Case& c : cases) {
    const std::string what = shape(c.a) + " @ " + shape(c.b);
    expect_close(fast_matmul(c.a, c.b), torch::matmul(c.a.to(torch::kDouble), c.b.to(torch::kDouble)).to(torch::kFloat),
                 what);
  }
}

TEST(FastMatmul, LargeProductsAndManySmallOnesMatch) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(4);
  for (const std::vector<int64_t>& sizes : std::vector<std::vector<int64_t>>{{1, 300, 200, 190}, {3, 260, 270, 250},
                                                                            {512, 16, 8, 16}}) {
    const torch::Tensor a = torch::randn({sizes[0], sizes[1], sizes[2]});
    const torch::Tensor b = torch::randn({sizes[0], sizes[2], sizes[3]});
    expect_close(fast_matmul(a, b), torch::matmul(a.to(torch::kDouble), b.to(torch::kDouble)).to(torch::kFloat),
                 shape(a) + " @ " + shape(b));
  }
}

TEST(FastMatmul, OutputIgnoresWhatTheFreshBufferHeld) {
  // sgemm runs with beta = 0: a reused allocation full of NaN must not leak into the product (LibTorch 1.13's
  // baddbmm with beta = 0 does that at times).
  torch::NoGradGuard no_grad;
  for (int i = 0; i < 4; ++i) {
    torch::Tensor garbage = torch::full({64 * 64 * 8}, std::numeric_limits<float>::quiet_NaN());
    garbage = torch::Tensor();
  }
  const torch::Tensor a = torch::randn({8, 64, 16}), b = torch::randn({8, 16, 64});
  EXPECT_TRUE(torch::isfinite(fast_matmul(a, b)).all().item<bool>());
}

TEST(FastMatmul, FallsBackOutsideCpuFloatInference) {
  torch::manual_seed(5);
  const torch::Tensor a = torch::randn({2, 3, 4}, torch::kDouble), b = torch::randn({2, 4, 5}, torch::kDouble);
  EXPECT_TRUE(fast_matmul(a, b).equal(torch::matmul(a, b)));  // float64: LibTorch's own product
  const torch::Tensor x = torch::randn({3, 4}, torch::requires_grad());
  const torch::Tensor w = torch::randn({5, 4});
  torch::Tensor y = fast_linear(x, w);  // autograd: LibTorch, gradients flow
  y.sum().backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_TRUE(x.grad().allclose(w.sum(0).expand({3, 4})));
  const torch::Tensor vector = torch::randn({4});
  EXPECT_TRUE(fast_matmul(torch::randn({3, 4}), vector.unsqueeze(1)).sizes() == torch::IntArrayRef({3, 1}));
}

TEST(FastLinear, MatchesTorchLinearWithTheSameStateDictNames) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(6);
  for (const bool bias : {true, false}) {
    torch::nn::Linear reference(torch::nn::LinearOptions(24, 40).bias(bias));
    FastLinear fast(torch::nn::LinearOptions(24, 40).bias(bias));
    const auto params = fast->named_parameters();
    ASSERT_EQ(params.size(), reference->named_parameters().size());
    for (const auto& item : reference->named_parameters()) params[item.key()].copy_(item.value());
    for (const std::vector<int64_t>& sizes : std::vector<std::vector<int64_t>>{{7, 24}, {2, 33, 24}, {1, 1, 1, 24}}) {
      const torch::Tensor x = torch::randn(sizes);
      expect_close(fast->forward(x), reference->forward(x), "bias " + std::to_string(bias) + " input " + shape(x));
    }
  }
}

TEST(FastLinear, SwitchOffGivesLibTorchsResult) {
  torch::NoGradGuard no_grad;
  FastLinear layer(8, 3);
  const torch::Tensor x = torch::randn({5, 8});
  set_fast_matmul_enabled(false);
  const torch::Tensor plain = layer->forward(x);
  set_fast_matmul_enabled(true);
  EXPECT_TRUE(plain.equal(F::linear(x, layer->weight, layer->bias)));
  expect_close(layer->forward(x), plain, "enabled");
}

}  // namespace fast_matmul_test
}  // namespace uprez
