// Gemm: alpha * (A B + beta C), with A (M x K), B (K x N) and an optional C. Parameters: alpha 0, beta 1 (both
// default 1), transA 2 and transB 3 (the blob or data is the transpose: K x M, N x K), constantA 4, constantB 5,
// constantC 6 with constantM 7, constantN 8, constantK 9 and constant_broadcast_type_C 10, output_N1M 11,
// output_transpose 14.
//
// The inputs are the non-constant ones of A, B, C in that order; C is optional. A constant A, B or C is read
// from the .bin (flagged buffers, in that order); constant C's broadcast type: -1 none, 0 one value, 1 and 2 one
// per row (M), 3 M x N, 4 one per column (N). An input C broadcasts by its shape: (1) a scalar, (M) or (M, 1)
// per row, (N) or (1, N) per column, (M, N); (M) means per column when M == N, as in ncnn.
// A matrix blob is 2-dim (rows, columns); a 1-dim blob is one row; a 3-dim (rows, 1, columns) blob is the
// N1M layout. The output is (M, N), or (N, M) with output_transpose, and with output_N1M (M, 1, N) / (N, 1, M).
// output_elempack (12), output_elemtype (13) and the tile sizes (20-22) only tune ncnn's storage and speed and
// are ignored; quantized Gemm (quantize_term, 18) is refused.
#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace gemm {

enum class BroadcastC { kNone = -1, kScalar = 0, kRows = 1, kRowColumn = 2, kMatrix = 3, kColumns = 4 };

class GemmLayer : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    alpha_ = params.get_float(0, 1.f);
    beta_ = params.get_float(1, 1.f);
    transpose_a_ = params.get_int(2, 0) != 0;
    transpose_b_ = params.get_int(3, 0) != 0;
    constant_a_ = params.get_int(4, 0) != 0;
    constant_b_ = params.get_int(5, 0) != 0;
    constant_c_ = params.get_int(6, 0) != 0;
    constant_m_ = params.get_int(7, 0);
    constant_n_ = params.get_int(8, 0);
    constant_k_ = params.get_int(9, 0);
    const int broadcast_c = params.get_int(10, 0);
    output_n1m_ = params.get_int(11, 0) != 0;
    output_transpose_ = params.get_int(14, 0) != 0;
    if (params.get_int(18, 0) != 0) params.fail(18, "quantized Gemm is not supported");
    if (constant_a_ && (constant_m_ < 1 || constant_k_ < 1))
      params.fail(4, "constantA needs constantM (7) and constantK (9)");
    if (constant_b_ && (constant_n_ < 1 || constant_k_ < 1))
      params.fail(5, "constantB needs constantN (8) and constantK (9)");
    if (constant_c_) {
      if (broadcast_c < -1 || broadcast_c > 4)
        params.fail(10, "constant_broadcast_type_C must be -1 to 4, got " + std::to_string(broadcast_c));
      const bool needs_m = broadcast_c >= 1 && broadcast_c <= 3, needs_n = broadcast_c >= 3;
      if ((needs_m && constant_m_ < 1) || (needs_n && constant_n_ < 1))
        params.fail(10, "a constant C of broadcast type " + std::to_string(broadcast_c) + " needs constantM (7)" +
                            (needs_n ? " and constantN (8)" : ""));
      constant_c_broadcast_ = static_cast<BroadcastC>(broadcast_c);
    }
  }

  void load_model(ModelBin& bin) override {
    if (constant_a_) a_ = load_matrix(bin, constant_m_, constant_k_, transpose_a_);
    if (constant_b_) b_ = load_matrix(bin, constant_k_, constant_n_, transpose_b_);
    if (constant_c_) {
      const int64_t m = constant_m_, n = constant_n_;
      switch (constant_c_broadcast_) {
        case BroadcastC::kNone: break;
        case BroadcastC::kScalar: c_ = bin.load(1, 0).view({1, 1}); break;
        case BroadcastC::kRows:
        case BroadcastC::kRowColumn: c_ = bin.load(m, 0).view({m, 1}); break;
        case BroadcastC::kMatrix: c_ = bin.load(m * n, 0).view({m, n}); break;
        case BroadcastC::kColumns: c_ = bin.load(n, 0).view({1, n}); break;
      }
    }
  }

  void to(const torch::Device& device, torch::Dtype dtype) override {
    for (torch::Tensor* constant : {&a_, &b_, &c_})
      if (constant->defined()) *constant = constant->to(device, dtype);
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    const size_t matrix_inputs = !constant_a_ + !constant_b_;
    const bool c_may_be_input = !constant_c_;
    if (inputs.size() != matrix_inputs && !(c_may_be_input && inputs.size() == matrix_inputs + 1))
      layer_error(*this, "expects " + std::to_string(matrix_inputs) +
                             (c_may_be_input ? " or " + std::to_string(matrix_inputs + 1) : "") + " input blobs, got " +
                             std::to_string(inputs.size()));
    size_t next_input = 0;
    torch::Tensor a = constant_a_ ? a_ : input_matrix(inputs[next_input++], transpose_a_);
    torch::Tensor b = constant_b_ ? b_ : input_matrix(inputs[next_input++], transpose_b_);
    if (a.size(1) != b.size(0))
      layer_error(*this, "A of " + std::to_string(a.size(0)) + " x " + std::to_string(a.size(1)) + " and B of " +
                             std::to_string(b.size(0)) + " x " + std::to_string(b.size(1)) + " do not multiply");
    const int64_t m = a.size(0), n = b.size(1);
    const torch::Tensor c = next_input < inputs.size() ? input_c(inputs[next_input], m, n) : c_;
    if (c.defined() && !fits_output(c, m, n))
      layer_error(*this, "constant C of shape " + shape_text(c) + " does not fit an output of " + std::to_string(m) +
                             " x " + std::to_string(n));

    torch::Tensor product = c.defined() ? torch::addmm(c, a, b, alpha_ * beta_, alpha_) : torch::mm(a, b);
    if (!c.defined() && alpha_ != 1.f) product.mul_(alpha_);
    if (output_transpose_) product = product.t();
    if (output_n1m_) product = product.unsqueeze(1);
    return {product.contiguous()};
  }

 private:
  // A constant matrix of rows x columns from the .bin, stored transposed when `transposed`.
  static torch::Tensor load_matrix(ModelBin& bin, int64_t rows, int64_t columns, bool transposed) {
    const torch::Tensor data = bin.load(rows * columns, 0);
    return transposed ? data.view({columns, rows}).t().contiguous() : data.view({rows, columns});
  }

  // An input blob as a matrix (see the top of this file), transposed when `transposed`.
  torch::Tensor input_matrix(const torch::Tensor& blob, bool transposed) const {
    torch::Tensor matrix;
    if (blob.dim() == 1) matrix = blob.view({1, -1});
    if (blob.dim() == 2) matrix = blob;
    if (blob.dim() == 3 && blob.size(1) == 1) matrix = blob.squeeze(1);
    if (!matrix.defined()) layer_error(*this, "cannot use a blob of shape " + shape_text(blob) + " as a matrix");
    return transposed ? matrix.t() : matrix;
  }

  // True when the 2-dim `c` broadcasts to an m x n output without growing it.
  static bool fits_output(const torch::Tensor& c, int64_t m, int64_t n) {
    return (c.size(0) == m || c.size(0) == 1) && (c.size(1) == n || c.size(1) == 1);
  }

  // An input C shaped for broadcasting against the m x n output, by ncnn's rules.
  torch::Tensor input_c(const torch::Tensor& blob, int64_t m, int64_t n) const {
    if (blob.dim() == 1 && blob.size(0) == n) return blob.view({1, n});
    if (blob.dim() == 1 && blob.size(0) == m) return blob.view({m, 1});
    if (blob.dim() == 1 && blob.size(0) == 1) return blob.view({1, 1});
    if (blob.dim() == 2 && fits_output(blob, m, n)) return blob;
    layer_error(*this, "C of shape " + shape_text(blob) + " does not broadcast to an output of " + std::to_string(m) +
                           " x " + std::to_string(n));
  }

  float alpha_ = 1.f, beta_ = 1.f;
  bool transpose_a_ = false, transpose_b_ = false;
  bool constant_a_ = false, constant_b_ = false, constant_c_ = false;
  int constant_m_ = 0, constant_n_ = 0, constant_k_ = 0;
  BroadcastC constant_c_broadcast_ = BroadcastC::kNone;
  bool output_n1m_ = false, output_transpose_ = false;
  torch::Tensor a_, b_, c_;
};

}  // namespace gemm

std::unique_ptr<Layer> make_gemm_layer() { return std::make_unique<gemm::GemmLayer>(); }

}  // namespace uprez::ncnn
