// FastConv2d's oneDNN path: convolutions of blocked maps, in three steps — plan (the algorithm and fused post-ops
// for one input shape, cached), prepare weights (reordered once into the plan's layout, cached until they
// change) and execute.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "nn/feature_map.h"
#include "nn/post_ops.h"

namespace uprez {

// The shape of a convolution: what torch::nn::Conv2dOptions says, with "same"/"valid" padding made explicit.
struct ConvGeometry {
  int64_t in_channels = 0, out_channels = 0, groups = 1;
  std::array<int64_t, 2> kernel{1, 1}, stride{1, 1}, dilation{1, 1};
  std::array<int64_t, 4> padding{0, 0, 0, 0};  // top, bottom, left, right

  explicit ConvGeometry(const torch::nn::Conv2dOptions& options);
  int64_t out_height(int64_t height) const;
  int64_t out_width(int64_t width) const;
  // Whether oneDNN's Winograd is worth it on a height x width input: 3x3, stride 1, no dilation, ungrouped, more
  // than 16 input channels, at least 16x16 pixels.
  bool winograd_eligible(int64_t height, int64_t width) const;
};

class OneDnnConvolution {
 public:
  explicit OneDnnConvolution(ConvGeometry geometry) : geometry_(geometry) {}
  const ConvGeometry& geometry() const { return geometry_; }

  // The convolution of the blocked map `x` with `weight` and `bias` (float32, CPU) and `post` applied, written into
  // `out` when given (a blocked map of the output's shape; it may be a channel slice). Undefined when no oneDNN
  // implementation (other than the reference one) takes this shape: the caller then uses LibTorch.
  // `implementation` receives the name of what ran.
  FeatureMap run(const FeatureMap& x, const FeatureMap* out, const PostOps& post, const torch::Tensor& weight,
                 const torch::Tensor& bias, bool winograd, std::string& implementation);

  struct Plan;
  struct PreparedWeights;

 private:
  std::shared_ptr<const Plan> plan_for(const FeatureMap& x, const PostOps& post, bool with_bias, bool winograd);
  std::vector<std::shared_ptr<PreparedWeights>> prepare_weights(const Plan& plan, const torch::Tensor& weight,
                                                                const torch::Tensor& bias, double scale);
  FeatureMap execute(const Plan& plan, const std::vector<std::shared_ptr<PreparedWeights>>& weights,
                     const FeatureMap& x, const FeatureMap* out, const PostOps& post, const torch::Tensor& bias);
  void forget_changed_weights(const torch::Tensor& weight, const torch::Tensor& bias);

  const ConvGeometry geometry_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<const Plan>> plans_;
  // Which weights the prepared ones were made from (data pointer and version: reloaded, moved or replaced
  // weights are prepared again).
  const void* weight_data_ = nullptr;
  int64_t weight_version_ = -1;
  const void* bias_data_ = nullptr;
  int64_t bias_version_ = -1;
  std::vector<std::shared_ptr<PreparedWeights>> weights_;
};

}  // namespace uprez
