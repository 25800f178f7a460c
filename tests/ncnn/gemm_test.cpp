// Gemm: alpha (A B + beta C) with input and constant operands, transposes, every way of giving C, and the output
// layouts.
#include <gtest/gtest.h>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace gemm_test {

using namespace test;

const torch::Tensor& matrix_a() {  // M x K = 2 x 3
  static const torch::Tensor a = tensor_of({1, 2, 3, 4, 5, 6}, {2, 3});
  return a;
}
const torch::Tensor& matrix_b() {  // K x N = 3 x 2
  static const torch::Tensor b = tensor_of({1, 0, 0, 1, 1, 1}, {3, 2});
  return b;
}
const torch::Tensor& product() {  // A B
  static const torch::Tensor ab = tensor_of({4, 5, 10, 11}, {2, 2});
  return ab;
}

std::vector<float> values_of(const torch::Tensor& tensor) {
  const torch::Tensor flat = tensor.contiguous().view(-1);
  return {flat.data_ptr<float>(), flat.data_ptr<float>() + flat.numel()};
}

TEST(GemmLayerTest, TwoInputs) {
  expect_close(run(*make_layer("Gemm"), {matrix_a(), matrix_b()}), product());
  const auto transposed = make_layer("Gemm", {{2, int_param(1)}, {3, int_param(1)}});
  expect_close(run(*transposed, {matrix_a().t().contiguous(), matrix_b().t().contiguous()}), product());
  const auto scaled = make_layer("Gemm", {{0, float_param(0.5)}});
  expect_close(run(*scaled, {matrix_a(), matrix_b()}), product() * 0.5);
}

TEST(GemmLayerTest, InputCBroadcastsByItsShape) {
  const auto layer = make_layer("Gemm", {{0, float_param(2)}, {1, float_param(0.5)}});
  const auto expect_with_c = [&](const torch::Tensor& c, const torch::Tensor& c_broadcast) {
    SCOPED_TRACE(::testing::Message() << "C of shape " << c.sizes());
    expect_close(run(*layer, {matrix_a(), matrix_b(), c}), (product() + c_broadcast * 0.5) * 2);
  };
  expect_with_c(tensor_of({3}, {1}), tensor_of({3, 3, 3, 3}, {2, 2}));
  expect_with_c(tensor_of({1, 2}, {2, 1}), tensor_of({1, 1, 2, 2}, {2, 2}));
  expect_with_c(tensor_of({1, 2}, {1, 2}), tensor_of({1, 2, 1, 2}, {2, 2}));
  expect_with_c(tensor_of({1, 2, 3, 4}, {2, 2}), tensor_of({1, 2, 3, 4}, {2, 2}));
  // a 1-dim C of N values is per column (ncnn prefers that reading when M == N)
  expect_with_c(tensor_of({1, 2}, {2}), tensor_of({1, 2, 1, 2}, {2, 2}));
  // with M != N, a 1-dim C of M values is per row
  const torch::Tensor a3 = tensor_of({1, 2, 3, 4, 5, 6, 7, 8, 9}, {3, 3});
  expect_close(run(*layer, {a3, matrix_b(), tensor_of({1, 2, 3}, {3})}),
               (torch::mm(a3, matrix_b()) + tensor_of({1, 2, 3}, {3, 1}) * 0.5) * 2);
}

TEST(GemmLayerTest, ConstantBFromTheBin) {
  // B^T (N x K) stored in the .bin as a flagged fp32 buffer, as pnnx writes nn.Linear
  const Params params = {{3, int_param(1)}, {5, int_param(1)}, {8, int_param(2)}, {9, int_param(3)}};
  const auto layer = make_layer("Gemm", params, values_of(matrix_b().t()), /*flagged=*/true);
  expect_close(run(*layer, {matrix_a()}), product());
  // with an input C
  expect_close(run(*layer, {matrix_a(), tensor_of({1, 2}, {1, 2})}), product() + tensor_of({1, 2}, {1, 2}));
  expect_layer_error(
      [&] {
        layer->forward({matrix_a(), matrix_b(), matrix_b()});
      },
      "expects 1 or 2 input blobs, got 3");
}

TEST(GemmLayerTest, ConstantAAndConstantC) {
  // A (M x K) untransposed, then C per row (broadcast type 2)
  const Params params = {
      {4, int_param(1)}, {6, int_param(1)}, {7, int_param(2)}, {9, int_param(3)}, {10, int_param(2)}};
  std::vector<float> weights = values_of(matrix_a());
  weights.push_back(0);  // the flag of C's buffer
  weights.push_back(10);
  weights.push_back(20);
  const auto layer = make_layer("Gemm", params, weights, /*flagged=*/true);
  expect_close(run(*layer, {matrix_b()}), product() + tensor_of({10, 20}, {2, 1}));
}

TEST(GemmLayerTest, EveryConstantCBroadcastType) {
  const std::vector<std::pair<int, std::vector<float>>> cases = {{-1, {}},    {0, {7}},          {1, {1, 2}},
                                                                 {2, {1, 2}}, {3, {1, 2, 3, 4}}, {4, {1, 2}}};
  const std::vector<torch::Tensor> broadcasts = {torch::zeros({2, 2}),
                                                 torch::full({2, 2}, 7.f),
                                                 tensor_of({1, 1, 2, 2}, {2, 2}),
                                                 tensor_of({1, 1, 2, 2}, {2, 2}),
                                                 tensor_of({1, 2, 3, 4}, {2, 2}),
                                                 tensor_of({1, 2, 1, 2}, {2, 2})};
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& [type, c_values] = cases[i];
    SCOPED_TRACE("constant_broadcast_type_C " + std::to_string(type));
    const Params params = {{6, int_param(1)}, {7, int_param(2)}, {8, int_param(2)}, {10, int_param(type)}};
    const auto layer = make_layer("Gemm", params, c_values, /*flagged=*/!c_values.empty());
    expect_close(run(*layer, {matrix_a(), matrix_b()}), product() + broadcasts[i]);
  }
}

TEST(GemmLayerTest, OutputLayouts) {
  expect_close(run(*make_layer("Gemm", {{14, int_param(1)}}), {matrix_a(), matrix_b()}), product().t());
  expect_close(run(*make_layer("Gemm", {{11, int_param(1)}}), {matrix_a(), matrix_b()}), product().view({2, 1, 2}));
  expect_close(run(*make_layer("Gemm", {{11, int_param(1)}, {14, int_param(1)}}), {matrix_a(), matrix_b()}),
               product().t().reshape({2, 1, 2}));
  // an N1M blob (M, 1, K) as A, and a 1-dim A as one row
  expect_close(run(*make_layer("Gemm"), {matrix_a().view({2, 1, 3}), matrix_b()}), product());
  expect_close(run(*make_layer("Gemm"), {tensor_of({1, 2, 3}, {3}), matrix_b()}), product().narrow(0, 0, 1));
}

TEST(GemmLayerTest, RefusesBadShapesAndParameters) {
  const auto layer = make_layer("Gemm");
  expect_layer_error([&] { layer->forward({matrix_a(), matrix_a()}); }, "A of 2 x 3 and B of 2 x 3 do not multiply");
  expect_layer_error(
      [&] {
        layer->forward({matrix_a(), matrix_b(), torch::zeros({3})});
      },
      "C of shape (3) does not broadcast to an output of 2 x 2");
  expect_layer_error(
      [&] {
        layer->forward({torch::zeros({2, 2, 3}), matrix_b()});
      },
      "cannot use a blob of shape (2, 2, 3) as a matrix");
  expect_layer_error([] { make_layer("Gemm", {{18, int_param(1)}}); }, "parameter 18: quantized Gemm is not supported");
  expect_layer_error(
      [] {
        make_layer("Gemm", {{5, int_param(1)}, {8, int_param(2)}});
      },
      "parameter 5: constantB needs constantN (8) and constantK (9)");
  expect_layer_error(
      [] {
        make_layer("Gemm", {{6, int_param(1)}, {10, int_param(5)}});
      },
      "parameter 10: constant_broadcast_type_C must be -1 to 4");
  expect_layer_error(
      [] {
        make_layer("Gemm", {{6, int_param(1)}, {10, int_param(3)}, {7, int_param(2)}});
      },
      "needs constantM (7) and constantN (8)");
}

}  // namespace gemm_test
}  // namespace uprez::ncnn
