// MatMul: the matrix product of A and B (torch.matmul's rules, which ncnn follows): 1-dim times 1-dim is a dot
// product (a 1-element blob); a 1-dim A is a row vector and a 1-dim B a column vector, dropped from the result;
// blobs of 3 or 4 dims are stacks of matrices (the two innermost axes) whose outer axes broadcast. transB
// (parameter 0) transposes B's two innermost axes first (not a 1-dim B).
#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace mat_mul {

class MatMulLayer : public Layer {
 public:
  void load_param(const ParamDict& params) override { transpose_b_ = params.get_int(0, 0) != 0; }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    expect_input_count(*this, inputs, 2);
    expect_mat_dims(*this, inputs[0]);
    expect_mat_dims(*this, inputs[1]);
    const torch::Tensor& a = inputs[0];
    const torch::Tensor b = transpose_b_ && inputs[1].dim() >= 2 ? inputs[1].transpose(-1, -2) : inputs[1];

    const int64_t b_inner = b.dim() == 1 ? b.size(0) : b.size(-2);
    const auto batch_sizes = [](const torch::Tensor& blob) {
      return blob.sizes().slice(0, std::max<int64_t>(blob.dim() - 2, 0));
    };
    if (a.size(-1) != b_inner || !broadcastable(batch_sizes(a), batch_sizes(b)))
      layer_error(*this, "cannot multiply blobs of shapes " + shape_text(inputs[0]) + " and " + shape_text(inputs[1]) +
                             (transpose_b_ ? " (B transposed)" : ""));
    const torch::Tensor product = torch::matmul(a, b);
    return {product.dim() == 0 ? product.reshape({1}) : product};
  }

 private:
  bool transpose_b_ = false;
};

}  // namespace mat_mul

std::unique_ptr<Layer> make_mat_mul_layer() { return std::make_unique<mat_mul::MatMulLayer>(); }

}  // namespace uprez::ncnn
