// MatMul: every pairing of blob dims ncnn handles, with and without transB, against hand values and against
// ncnn's own loop of 2-dim products.
#include <gtest/gtest.h>

#include "elementwise_test_support.h"

namespace uprez::ncnn {
namespace mat_mul_test {

using namespace test;

std::unique_ptr<Layer> mat_mul(bool transpose_b = false) {
  return make_layer("MatMul", {{0, int_param(transpose_b ? 1 : 0)}});
}

TEST(MatMulLayerTest, HandComputedProducts) {
  const torch::Tensor a = tensor_of({1, 2, 3, 4, 5, 6}, {2, 3});
  const torch::Tensor b = tensor_of({1, 0, 0, 1, 1, 1}, {3, 2});
  expect_close(run(*mat_mul(), {a, b}), tensor_of({4, 5, 10, 11}, {2, 2}));
  expect_close(run(*mat_mul(true), {a, b.t().contiguous()}), tensor_of({4, 5, 10, 11}, {2, 2}));
  // dot product: a 1-element blob
  expect_close(run(*mat_mul(), {tensor_of({1, 2, 3}, {3}), tensor_of({4, 5, 6}, {3})}), tensor_of({32}, {1}));
  // a row vector times a matrix, a matrix times a column vector
  expect_close(run(*mat_mul(), {tensor_of({1, 1, 1}, {3}), b}), tensor_of({2, 2}, {2}));
  expect_close(run(*mat_mul(true), {tensor_of({1, 1}, {2}), b}), tensor_of({1, 1, 2}, {3}));
  expect_close(run(*mat_mul(), {a, tensor_of({1, 0, -1}, {3})}), tensor_of({-2, -2}, {2}));
  expect_close(run(*mat_mul(true), {a, tensor_of({1, 0, -1}, {3})}), tensor_of({-2, -2}, {2}));
}

// The product of every pair of matrices, with size-1 batch axes broadcast: ncnn's loop over 2-dim products.
torch::Tensor batched_reference(const torch::Tensor& a, const torch::Tensor& b) {
  const int64_t channels = std::max(a.size(0), b.size(0));
  std::vector<torch::Tensor> products;
  for (int64_t q = 0; q < channels; ++q) {
    const torch::Tensor a_q = a.select(0, a.size(0) == 1 ? 0 : q);
    const torch::Tensor b_q = b.select(0, b.size(0) == 1 ? 0 : q);
    products.push_back(a_q.dim() == 2 ? torch::mm(a_q, b_q) : batched_reference(a_q, b_q));
  }
  return torch::stack(products);
}

TEST(MatMulLayerTest, StacksOfMatrices) {
  const torch::Tensor a = random_blob({3, 4, 5}, 1);
  const torch::Tensor b = random_blob({3, 5, 2}, 2);
  expect_close(run(*mat_mul(), {a, b}), batched_reference(a, b));
  expect_close(run(*mat_mul(true), {a, b.transpose(1, 2).contiguous()}), batched_reference(a, b));
  // a 2-dim blob is one matrix for every channel
  const torch::Tensor matrix = random_blob({4, 5}, 3);
  expect_close(run(*mat_mul(), {matrix, b}), batched_reference(matrix.unsqueeze(0), b));
  expect_close(run(*mat_mul(), {a, b.select(0, 0)}), batched_reference(a, b.narrow(0, 0, 1)));
  // 4 dims, and 3 dims against 4 dims with broadcast channels and depths
  const torch::Tensor a4 = random_blob({2, 3, 4, 5}, 4);
  const torch::Tensor b4 = random_blob({2, 1, 5, 6}, 5);
  expect_close(run(*mat_mul(), {a4, b4}), batched_reference(a4, b4));
  expect_close(run(*mat_mul(), {a, b4}), batched_reference(a.unsqueeze(0), b4));
  expect_close(run(*mat_mul(), {matrix, b4}), batched_reference(matrix.view({1, 1, 4, 5}), b4));
}

TEST(MatMulLayerTest, VectorAgainstStack) {
  const torch::Tensor vector = random_blob({5}, 1);
  const torch::Tensor stack = random_blob({3, 5, 2}, 2);
  // (5) x (3, 5, 2) -> (3, 2); (2, 3, 5, 2) -> (2, 3, 2)
  expect_close(run(*mat_mul(), {vector, stack}), batched_reference(vector.view({1, 1, 5}), stack).squeeze(1));
  const torch::Tensor stack4 = random_blob({2, 3, 5, 2}, 3);
  expect_close(run(*mat_mul(), {vector, stack4}), batched_reference(vector.view({1, 1, 1, 5}), stack4).squeeze(2));
  // (3, 2, 5) x (5) -> (3, 2)
  const torch::Tensor rows = random_blob({3, 2, 5}, 4);
  expect_close(run(*mat_mul(), {rows, vector}), batched_reference(rows, vector.view({1, 5, 1})).squeeze(2));
}

TEST(MatMulLayerTest, RefusesShapesThatDoNotMultiply) {
  expect_layer_error(
      [] {
        mat_mul()->forward({torch::zeros({2, 3}), torch::zeros({2, 3})});
      },
      "cannot multiply blobs of shapes (2, 3) and (2, 3)");
  expect_layer_error([] { mat_mul(true)->forward({torch::zeros({2, 3}), torch::zeros({3, 2})}); }, "(B transposed)");
  expect_layer_error([] { mat_mul()->forward({torch::zeros({2, 4, 3}), torch::zeros({3, 3, 2})}); }, "cannot multiply");
  expect_layer_error([] { mat_mul()->forward({torch::zeros({3})}); }, "expects 2 input blobs, got 1");
}

}  // namespace mat_mul_test
}  // namespace uprez::ncnn
