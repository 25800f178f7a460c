// Eltwise: product, sum (with and without coefficients) and maximum of several same-shape blobs.
#include <gtest/gtest.h>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace eltwise_test {

using namespace test;

const torch::Tensor& blob_a() {
  static const torch::Tensor blob = tensor_of({1, -2, 3, 0.5}, {1, 2, 2});
  return blob;
}
const torch::Tensor& blob_b() {
  static const torch::Tensor blob = tensor_of({2, 4, -1, 0.5}, {1, 2, 2});
  return blob;
}
const torch::Tensor& blob_c() {
  static const torch::Tensor blob = tensor_of({-1, 1, 10, 2}, {1, 2, 2});
  return blob;
}

TEST(EltwiseLayerTest, Product) {
  const auto layer = make_layer("Eltwise", {{0, int_param(0)}});
  expect_close(run(*layer, {blob_a(), blob_b()}), tensor_of({2, -8, -3, 0.25}, {1, 2, 2}));
  expect_close(run(*layer, {blob_a(), blob_b(), blob_c()}), tensor_of({-2, -8, -30, 0.5}, {1, 2, 2}));
}

TEST(EltwiseLayerTest, Sum) {
  // waifu2x cunet: "Eltwise Eltwise1 2 1 a b Eltwise1 0=1"
  const auto layer = make_layer("Eltwise", {{0, int_param(1)}});
  expect_close(run(*layer, {blob_a(), blob_b()}), tensor_of({3, 2, 2, 1}, {1, 2, 2}));
  expect_close(run(*layer, {blob_a(), blob_b(), blob_c()}), tensor_of({2, 3, 12, 3}, {1, 2, 2}));
}

TEST(EltwiseLayerTest, SumWithCoefficients) {
  // realesrgan-x4plus: "Eltwise 990 2 1 a b 990 0=1 -23301=2,2.000000e-01,1.000000e+00"
  const auto two = make_layer("Eltwise", {{0, int_param(1)}, {1, floats_param({0.2, 1.0})}});
  expect_close(run(*two, {blob_a(), blob_b()}), tensor_of({2.2f, 3.6f, -0.4f, 0.6f}, {1, 2, 2}));
  const auto three = make_layer("Eltwise", {{0, int_param(1)}, {1, floats_param({1, -1, 0.5})}});
  expect_close(run(*three, {blob_a(), blob_b(), blob_c()}), tensor_of({-1.5f, -5.5f, 9, 1}, {1, 2, 2}));
}

TEST(EltwiseLayerTest, Max) {
  const auto layer = make_layer("Eltwise", {{0, int_param(2)}});
  expect_close(run(*layer, {blob_a(), blob_b()}), tensor_of({2, 4, 3, 0.5}, {1, 2, 2}));
  expect_close(run(*layer, {blob_a(), blob_b(), blob_c()}), tensor_of({2, 4, 10, 2}, {1, 2, 2}));
}

TEST(EltwiseLayerTest, LeavesInputsUnchanged) {
  const torch::Tensor a = blob_a().clone();
  for (int op = 0; op < 3; ++op) run(*make_layer("Eltwise", {{0, int_param(op)}}), {a, blob_b(), blob_c()});
  expect_close(a, blob_a());
}

TEST(EltwiseLayerTest, RefusesBadInputsAndParameters) {
  const auto layer = make_layer("Eltwise", {{0, int_param(1)}});
  expect_layer_error(
      [&] {
        layer->forward({blob_a(), torch::zeros({2, 2})});
      },
      "blobs of shapes (1, 2, 2) and (2, 2) differ");
  expect_layer_error([&] { layer->forward({blob_a()}); }, "expects at least 2 input blobs, got 1");
  const auto short_coefficients = make_layer("Eltwise", {{0, int_param(1)}, {1, floats_param({1, 1})}});
  expect_layer_error(
      [&] {
        short_coefficients->forward({blob_a(), blob_b(), blob_c()});
      },
      "2 coefficients for 3 input blobs");
  expect_layer_error([&] { make_layer("Eltwise", {{0, int_param(3)}}); }, "parameter 0: unsupported op_type 3");
}

}  // namespace eltwise_test
}  // namespace uprez::ncnn
