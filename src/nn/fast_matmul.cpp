#include "nn/fast_matmul.h"

#include "nn/skip_init.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include <ATen/ExpandUtils.h>
#include <c10/util/accumulate.h>
#include <ATen/Parallel.h>
#include <oneapi/dnnl/dnnl.h>

namespace uprez {

namespace matmul {

namespace F = torch::nn::functional;

std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> flag{[] {
    const char* value = std::getenv("UPREZ_FAST_MATMUL");
    const std::string mode = value == nullptr ? "" : value;
    return !(mode == "0" || mode == "off" || mode == "false");
  }()};
  return flag;
}

bool fast_path_applies(const torch::Tensor& t) {
  return fast_matmul_enabled() && t.defined() && t.layout() == torch::kStrided && t.device().is_cpu() &&
         t.scalar_type() == torch::kFloat && !(torch::GradMode::is_enabled() && t.requires_grad());
}

// A (rows, cols) matrix as row-major sgemm reads it: row-major ('N') or column-major ('T', i.e. the transpose
// stored row-major), with its leading dimension.
struct GemmOperand {
  const float* data = nullptr;
  char trans = 'N';
  int64_t leading = 1;
};

// The sgemm view of the last two dimensions of `t` (rows, cols, with these strides), or false when neither
// dimension is unit-stride.
bool gemm_operand(const torch::Tensor& t, GemmOperand& operand) {
  const int64_t rows = t.size(-2), cols = t.size(-1);
  const int64_t row_stride = t.stride(-2), col_stride = t.stride(-1);
  operand.data = t.data_ptr<float>();
  if ((col_stride == 1 || cols == 1) && (rows == 1 || row_stride >= std::max<int64_t>(cols, 1))) {
    operand.trans = 'N';
    operand.leading = rows == 1 ? std::max<int64_t>(cols, 1) : row_stride;
    return true;
  }
  if ((row_stride == 1 || rows == 1) && (cols == 1 || col_stride >= std::max<int64_t>(rows, 1))) {
    operand.trans = 'T';
    operand.leading = cols == 1 ? std::max<int64_t>(rows, 1) : col_stride;
    return true;
  }
  return false;
}

// `t` (.., rows, cols) as a 3-D (batch, rows, cols) tensor whose matrices sgemm can read: a view where the strides
// allow it, else a contiguous copy.
torch::Tensor as_gemm_batch(const torch::Tensor& t) {
  torch::Tensor batched = t.dim() == 3 ? t : t.reshape({-1, t.size(-2), t.size(-1)});
  GemmOperand unused;
  if (batched.numel() > 0 && !gemm_operand(batched, unused)) batched = batched.contiguous();
  return batched;
}

void check_status(dnnl_status_t status) {
  TORCH_CHECK(status == dnnl_success, "oneDNN sgemm failed (status ", static_cast<int>(status), ")");
}

// out (batch, m, n) = a (batch or 1, m, k) @ b (batch or 1, k, n); a batch of 1 is shared by every output matrix.
void batched_sgemm(const torch::Tensor& a, const torch::Tensor& b, const torch::Tensor& out) {
  const int64_t batch = out.size(0), m = out.size(1), n = out.size(2), k = a.size(2);
  const int64_t a_step = a.size(0) == 1 ? 0 : a.stride(0), b_step = b.size(0) == 1 ? 0 : b.stride(0);
  GemmOperand lhs, rhs;
  gemm_operand(a, lhs);
  gemm_operand(b, rhs);
  float* const output = out.data_ptr<float>();
  auto multiply = [&](int64_t first, int64_t last) {
    for (int64_t i = first; i < last; ++i)
      check_status(dnnl_sgemm(lhs.trans, rhs.trans, m, n, k, 1.f, lhs.data + i * a_step, lhs.leading,
                              rhs.data + i * b_step, rhs.leading, 0.f, output + i * m * n, std::max<int64_t>(n, 1)));
  };
  at::internal::lazy_init_num_threads();  // oneDNN's OpenMP threads follow at::set_num_threads
  // Large products use sgemm's own threads one after the other; many small ones (attention windows) run a
  // single-threaded sgemm each (oneDNN does not nest inside a parallel region), spread over the threads.
  const int64_t work = m * n * std::max<int64_t>(k, 1);
  if (batch == 1 || (work >= (int64_t{1} << 22) && batch < 4 * at::get_num_threads())) {
    multiply(0, batch);
  } else {
    at::parallel_for(0, batch, std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(work, 1)), multiply);
  }
}

}  // namespace matmul

void set_fast_matmul_enabled(bool enabled) { matmul::enabled_flag() = enabled; }
bool fast_matmul_enabled() { return matmul::enabled_flag(); }

torch::Tensor fast_matmul(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.dim() < 2 || b.dim() < 2 || !matmul::fast_path_applies(a) || !matmul::fast_path_applies(b) || a.size(-1) != b.size(-2))
    return torch::matmul(a, b);
  torch::NoGradGuard no_grad;
  const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
  const std::vector<int64_t> a_batch(a.sizes().begin(), a.sizes().end() - 2);
  const std::vector<int64_t> b_batch(b.sizes().begin(), b.sizes().end() - 2);
  std::vector<int64_t> batch = at::infer_size(a_batch, b_batch);
  std::vector<int64_t> out_sizes = batch;
  out_sizes.insert(out_sizes.end(), {m, n});
  // A right operand without batch dimensions: one product over all rows of the left one (F::linear's case).
  if (b.dim() == 2 && a.dim() > 2) {
    torch::Tensor rows = a.reshape({1, -1, k});
    matmul::GemmOperand unused;
    if (!matmul::gemm_operand(rows, unused)) rows = rows.contiguous();
    torch::Tensor out = torch::empty({1, rows.size(1), n}, a.options());
    if (out.numel() > 0) matmul::batched_sgemm(rows, matmul::as_gemm_batch(b), out);
    return out.view(out_sizes);
  }
  // Operands whose batch is all ones are shared; others are broadcast to the full batch.
  const auto shared_or_expanded = [&](const torch::Tensor& t, const std::vector<int64_t>& own_batch) {
    if (c10::multiply_integers(own_batch) == 1) return matmul::as_gemm_batch(t.reshape({1, t.size(-2), t.size(-1)}));
    if (own_batch == batch) return matmul::as_gemm_batch(t);
    std::vector<int64_t> sizes = batch;
    sizes.insert(sizes.end(), {t.size(-2), t.size(-1)});
    return matmul::as_gemm_batch(t.expand(sizes).contiguous());
  };
  torch::Tensor out = torch::empty(out_sizes, a.options());
  if (out.numel() == 0) return out;
  if (k == 0) return out.zero_();
  matmul::batched_sgemm(shared_or_expanded(a, a_batch), shared_or_expanded(b, b_batch), out.view({-1, m, n}));
  return out;
}

torch::Tensor fast_linear(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias) {
  if (x.dim() < 2 || !matmul::fast_path_applies(x) || !matmul::fast_path_applies(weight) || (bias.defined() && !matmul::fast_path_applies(bias)))
    return matmul::F::linear(x, weight, bias);
  torch::Tensor out = fast_matmul(x, weight.t());
  if (bias.defined()) out.add_(bias);
  return out;
}

FastLinearImpl::FastLinearImpl(int64_t in_features, int64_t out_features)
    : FastLinearImpl(torch::nn::LinearOptions(in_features, out_features)) {}

FastLinearImpl::FastLinearImpl(torch::nn::LinearOptions options_) : options(std::move(options_)) { reset(); }

void FastLinearImpl::reset() {
  weight = register_parameter("weight", torch::empty({options.out_features(), options.in_features()}));
  bias = options.bias() ? register_parameter("bias", torch::empty(options.out_features()))
                        : register_parameter("bias", {}, /*requires_grad=*/false);
  reset_parameters();
}

void FastLinearImpl::reset_parameters() {
  // As torch::nn::Linear: Kaiming-uniform weights (a = sqrt(5)), biases uniform in +-1/sqrt(fan_in).
  if (SkipInit::active()) return;  // the weights are about to be loaded
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const double bound = options.in_features() > 0 ? 1.0 / std::sqrt(static_cast<double>(options.in_features())) : 0;
    torch::nn::init::uniform_(bias, -bound, bound);
  }
}

void FastLinearImpl::pretty_print(std::ostream& stream) const {
  stream << "uprez::FastLinear(in_features=" << options.in_features() << ", out_features=" << options.out_features()
         << ", bias=" << std::boolalpha << options.bias() << ")";
}

torch::Tensor FastLinearImpl::forward(const torch::Tensor& x) { return fast_linear(x, weight, bias); }

}  // namespace uprez
