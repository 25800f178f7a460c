// FeatureMap: the activations passed between FastConv2d layers, kept in oneDNN's blocked layout on the CPU so that
// a chain of convolutions converts layouts only at its ends.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

namespace uprez {

// Activations passed between FastConv2d layers. On the CPU in float32 (with the fast path enabled and no autograd)
// it holds oneDNN's blocked layout nChw16c: a contiguous (N, ceil(C/16), H, W, 16) float tensor whose padding
// channels are zero, so that a chain of convolutions converts layouts only at its ends (blocked maps carry no
// autograd history). Elsewhere it wraps the ordinary 4-D tensor and every operation is plain LibTorch.
class FeatureMap {
 public:
  FeatureMap() = default;
  // From a 4-D NCHW or channels_last tensor (converted to the blocked layout where that applies).
  explicit FeatureMap(const torch::Tensor& x);
  // Wraps `x` without converting it.
  static FeatureMap dense(torch::Tensor x);
  // An uninitialised map of `channels` channels with `like`'s batch, size, device, dtype and representation
  // (padding channels zeroed), e.g. a buffer whose channel slices convolutions write into (run_into).
  static FeatureMap empty_like(const FeatureMap& like, int64_t channels);

  bool defined() const { return data_.defined(); }
  bool blocked() const { return blocked_; }
  int64_t batch() const { return data_.size(0); }
  int64_t channels() const { return channels_; }
  int64_t height() const { return data_.size(2); }
  int64_t width() const { return data_.size(3); }
  // The storage: the 5-D blocked tensor, or the wrapped 4-D tensor.
  const torch::Tensor& data() const { return data_; }

  // A 4-D tensor (NCHW contiguous, or `format`); the wrapped tensor itself when not blocked.
  torch::Tensor to_tensor(c10::MemoryFormat format = c10::MemoryFormat::Contiguous) const;

  // Channels [start, start + length) as a view. Blocked maps need start and length multiples of 16 (or the slice
  // reaching the last channel); with batch 1 the view is contiguous, so convolutions read and write it in place.
  FeatureMap narrow_channels(int64_t start, int64_t length) const;
  // Concatenation along channels (one copy; in the blocked layout when every part but the last has a multiple
  // of 16 channels).
  static FeatureMap cat(const std::vector<FeatureMap>& parts);

  // Element-wise arithmetic in the storage layout (the other operand is converted when representations differ).
  FeatureMap add(const FeatureMap& other, double alpha = 1) const;  // this + alpha * other
  FeatureMap mul(double factor) const;
  FeatureMap& add_(const FeatureMap& other, double alpha = 1);
  FeatureMap& mul_(double factor);
  FeatureMap& copy_(const FeatureMap& source);
  // This map in `target`'s representation (blocked or not).
  FeatureMap converted_like(const FeatureMap& target) const;
  // Wraps blocked storage (see onednn::blocked_storage) of `channels` channels.
  static FeatureMap wrap_blocked(torch::Tensor storage, int64_t channels);
  // A copy with its own storage.
  FeatureMap clone() const;
  // Nearest-neighbour upscaling by an integer factor (F.interpolate(mode="nearest")).
  FeatureMap upsample_nearest(int64_t factor) const;
  // An element-wise LibTorch function (e.g. torch::silu) applied to the storage; padding channels stay zero.
  FeatureMap map(const std::function<torch::Tensor(const torch::Tensor&)>& elementwise) const;

 private:
  FeatureMap(torch::Tensor data, int64_t channels, bool blocked)
      : data_(std::move(data)), channels_(channels), blocked_(blocked) {}

  torch::Tensor data_;
  int64_t channels_ = 0;
  bool blocked_ = false;
};

}  // namespace uprez
