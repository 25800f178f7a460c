// BinaryOp: an element-wise operation of two blobs, or of one blob and the scalar b (parameter 2) when with_scalar
// (parameter 1) is set. op_type (parameter 0): 0 add, 1 sub, 2 mul, 3 div, 4 max, 5 min, 6 pow, 7 rsub, 8 rdiv,
// 9 rpow, 10 atan2, 11 ratan2, 12 fmod, 13 rfmod, 14 logaddexp, 15 floor_divide, 16 rfloor_divide, 17 remainder,
// 18 rremainder; the r-forms swap the operands (rsub: b - a). remainder is C's remainderf (the quotient rounded to
// the nearest integer, ties to even), not Python's.
//
// Two blobs broadcast as in ncnn (its wiki page binaryop-broadcasting): the blob of lower rank gets trailing axes
// of size 1, so that it lines up with the other blob's outer axes (a (c) or (c, h) blob against (c, h, w)), except
// a 1-dim blob whose length is not the other blob's outermost size, which lines up with the innermost axis
// instead. Then every axis must agree or be 1 in one of the blobs.
#include <algorithm>
#include <array>
#include <stdexcept>

#include "ncnn/layers/elementwise.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace binary_op {

enum class Operation { kAdd, kSub, kMul, kDiv, kMax, kMin, kPow, kAtan2, kFmod, kLogAddExp, kFloorDivide, kRemainder };

struct OpType {
  Operation operation;
  bool swapped;  // computes operation(b, a)
};

// Indexed by ncnn's op_type.
constexpr std::array<OpType, 19> kOpTypes = {{
    {Operation::kAdd, false},         {Operation::kSub, false},        {Operation::kMul, false},
    {Operation::kDiv, false},         {Operation::kMax, false},        {Operation::kMin, false},
    {Operation::kPow, false},         {Operation::kSub, true},         {Operation::kDiv, true},
    {Operation::kPow, true},          {Operation::kAtan2, false},      {Operation::kAtan2, true},
    {Operation::kFmod, false},        {Operation::kFmod, true},        {Operation::kLogAddExp, false},
    {Operation::kFloorDivide, false}, {Operation::kFloorDivide, true}, {Operation::kRemainder, false},
    {Operation::kRemainder, true},
}};

torch::Tensor compute(Operation operation, const torch::Tensor& a, const torch::Tensor& b) {
  switch (operation) {
    case Operation::kAdd: return a + b;
    case Operation::kSub: return a - b;
    case Operation::kMul: return a * b;
    case Operation::kDiv: return a / b;
    case Operation::kMax: return torch::maximum(a, b);
    case Operation::kMin: return torch::minimum(a, b);
    case Operation::kPow: return torch::pow(a, b);
    case Operation::kAtan2: return torch::atan2(a, b);
    case Operation::kFmod: return torch::fmod(a, b);
    case Operation::kLogAddExp: return torch::logaddexp(a, b);
    case Operation::kFloorDivide: return torch::floor(a / b);
    case Operation::kRemainder: {
      // In double, so that rounding the quotient matches remainderf's exact one for float inputs.
      const torch::Tensor a64 = a.to(torch::kDouble), b64 = b.to(torch::kDouble);
      return (a64 - b64 * torch::round(a64 / b64)).to(a.scalar_type());
    }
  }
  throw std::logic_error("unknown BinaryOp operation");
}

// `blob` with ncnn's implicit broadcast against the higher-rank `other` (see the top of this file).
torch::Tensor align_rank(const torch::Tensor& blob, const torch::Tensor& other) {
  if (blob.dim() >= other.dim()) return blob;
  std::vector<int64_t> shape(other.dim(), 1);
  if (blob.dim() == 1 && blob.size(0) != other.size(0))
    shape.back() = blob.size(0);
  else
    std::copy(blob.sizes().begin(), blob.sizes().end(), shape.begin());
  return blob.view(shape);
}

class BinaryOpLayer : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    const int op_type = params.get_int(0, 0);
    if (op_type < 0 || op_type >= static_cast<int>(kOpTypes.size()))
      params.fail(0, "unsupported op_type " + std::to_string(op_type));
    op_type_ = kOpTypes[op_type];
    with_scalar_ = params.get_int(1, 0) != 0;
    scalar_ = params.get_float(2, 0.f);
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    expect_input_count(*this, inputs, with_scalar_ ? 1 : 2);
    torch::Tensor a = inputs[0], b;
    if (with_scalar_) {
      b = torch::scalar_tensor(scalar_, a.options());
    } else {
      expect_mat_dims(*this, inputs[0]);
      expect_mat_dims(*this, inputs[1]);
      a = align_rank(inputs[0], inputs[1]);
      b = align_rank(inputs[1], inputs[0]);
      if (!broadcastable(a.sizes(), b.sizes()))
        layer_error(*this,
                    "cannot broadcast blobs of shapes " + shape_text(inputs[0]) + " and " + shape_text(inputs[1]));
    }
    return {apply(a, b)};
  }

  // With a scalar, or on two maps of one shape and layout (their padding channels are zeroed again).
  MapUse map_use() const override { return MapUse::WhenMapped; }
  std::vector<FeatureMap> forward_maps(const std::vector<FeatureMap>& inputs, const PostOps&) const override {
    if (inputs.size() != (with_scalar_ ? 1u : 2u)) return {};
    if (with_scalar_) {
      return {inputs[0].map(
          [&](const torch::Tensor& data) { return apply(data, torch::scalar_tensor(scalar_, data.options())); })};
    }
    const FeatureMap &a = inputs[0], &b = inputs[1];
    if (a.blocked() != b.blocked() || !a.data().sizes().equals(b.data().sizes())) return {};
    return {a.map([&](const torch::Tensor& data) { return apply(data, b.data()); })};
  }

  // Additions and subtractions of two blobs fold into the convolution producing one of them.
  std::optional<Epilogue> epilogue() const override {
    if (with_scalar_ || (op_type_.operation != Operation::kAdd && op_type_.operation != Operation::kSub))
      return std::nullopt;
    Epilogue epilogue;
    epilogue.weighted_sum = true;
    if (op_type_.operation == Operation::kSub) epilogue.coefficients = {op_type_.swapped ? -1. : 1., op_type_.swapped ? 1. : -1.};
    return epilogue;
  }

 private:
  torch::Tensor apply(const torch::Tensor& a, const torch::Tensor& b) const {
    return op_type_.swapped ? compute(op_type_.operation, b, a) : compute(op_type_.operation, a, b);
  }

  OpType op_type_{Operation::kAdd, false};
  bool with_scalar_ = false;
  float scalar_ = 0.f;
};

}  // namespace binary_op

std::unique_ptr<Layer> make_binary_op_layer() { return std::make_unique<binary_op::BinaryOpLayer>(); }

}  // namespace uprez::ncnn
