#include "ncnn/fused_activation.h"

#include <string>

namespace uprez::ncnn {

namespace fused_activation {

constexpr int kActivationTypeId = 9;
constexpr int kActivationParamsId = 10;

// How many activation_params each type reads.
size_t parameter_count(FusedActivation::Type type) {
  switch (type) {
    case FusedActivation::Type::LeakyReLU: return 1;
    case FusedActivation::Type::Clip:
    case FusedActivation::Type::HardSwish: return 2;
    default: return 0;
  }
}

// ncnn clamps the sigmoid's input to the range where expf neither overflows nor underflows.
constexpr float kSigmoidInputLimit = 88.3762626647949f;

}  // namespace fused_activation

FusedActivation FusedActivation::load(const ParamDict& params) {
  const int type = params.get_int(fused_activation::kActivationTypeId, 0);
  if (type < 0 || type > static_cast<int>(Type::HardSwish))
    params.fail(fused_activation::kActivationTypeId, "unsupported activation type " + std::to_string(type) + " (expected 0 to 6)");
  std::vector<float> parameters = params.get_floats(fused_activation::kActivationParamsId);
  const size_t needed = fused_activation::parameter_count(static_cast<Type>(type));
  if (parameters.size() < needed)
    params.fail(fused_activation::kActivationParamsId, "activation type " + std::to_string(type) + " needs " + std::to_string(needed) +
                                         (needed == 1 ? " value" : " values") + ", got " +
                                         std::to_string(parameters.size()));
  return FusedActivation(static_cast<Type>(type), std::move(parameters));
}

torch::Tensor FusedActivation::apply(torch::Tensor x) const {
  switch (type_) {
    case Type::None: return x;
    case Type::ReLU: return x.relu_();
    case Type::LeakyReLU: return torch::leaky_relu_(x, parameters_[0]);
    case Type::Clip: return x.clamp_(parameters_[0], parameters_[1]);
    case Type::Sigmoid: return x.clamp_(-fused_activation::kSigmoidInputLimit, fused_activation::kSigmoidInputLimit).sigmoid_();
    case Type::Mish: return x.mul_(x.exp().add_(1).log_().tanh_());  // v * tanh(log(exp(v) + 1))
    case Type::HardSwish: {
      // 0 below -beta / alpha, v above 1 / alpha - beta / alpha, v * (v * alpha + beta) in between.
      const float alpha = parameters_[0], beta = parameters_[1];
      const float lower = -beta / alpha;
      const float upper = (1.f / alpha) + lower;
      return torch::where(x < lower, torch::zeros({}, x.options()), torch::where(x > upper, x, x * (x * alpha + beta)));
    }
  }
  return x;
}

bool FusedActivation::append_to(PostOps& post) const {
  switch (type_) {
    case Type::ReLU: post.relu(); return true;
    case Type::LeakyReLU: post.leaky_relu(parameters_[0]); return true;
    default: return false;
  }
}

}  // namespace uprez::ncnn
