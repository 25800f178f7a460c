// The activation that ncnn fuses into Convolution, ConvolutionDepthWise, Deconvolution and InnerProduct:
// activation_type (param 9) with activation_params (param 10), computed with ncnn's formulas (activation_ss in
// ncnn's fused_activation.h): 0 none, 1 ReLU, 2 LeakyReLU(slope), 3 Clip(min, max), 4 Sigmoid, 5 Mish,
// 6 HardSwish(alpha, beta).
#pragma once

#include <vector>

#include <torch/torch.h>

#include "ncnn/param_dict.h"
#include "nn/fast_conv.h"

namespace uprez::ncnn {

class FusedActivation {
 public:
  enum class Type { None = 0, ReLU = 1, LeakyReLU = 2, Clip = 3, Sigmoid = 4, Mish = 5, HardSwish = 6 };

  FusedActivation() = default;  // none

  // Params 9 and 10 (LeakyReLU: slope; Clip: min, max; HardSwish: alpha, beta); an unknown type or a missing
  // parameter is an error (params.fail).
  static FusedActivation load(const ParamDict& params);

  Type type() const { return type_; }

  // The activation of `x`, computed in place where possible: call it on freshly computed outputs only.
  torch::Tensor apply(torch::Tensor x) const;

  // Appends the activation to a FastConv2d's post-ops when oneDNN fuses it the same way (ReLU, LeakyReLU);
  // false (and `post` unchanged) otherwise, the caller then applies it itself.
  bool append_to(PostOps& post) const;

 private:
  FusedActivation(Type type, std::vector<float> parameters) : type_(type), parameters_(std::move(parameters)) {}

  Type type_ = Type::None;
  std::vector<float> parameters_;
};

}  // namespace uprez::ncnn
