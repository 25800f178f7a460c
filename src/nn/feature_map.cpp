#include "nn/feature_map.h"

#include <utility>

#include "nn/conv_options.h"
#include "nn/onednn.h"

namespace uprez {

namespace feature_map {

namespace F = torch::nn::functional;

// Whether FeatureMap keeps `x` in the blocked layout.
bool blocks(const torch::Tensor& x) {
  return fast_conv_enabled() && x.defined() && x.layout() == torch::kStrided && x.dim() == 4 &&
         x.device().is_cpu() && x.scalar_type() == torch::kFloat && x.numel() > 0 &&
         !(torch::GradMode::is_enabled() && x.requires_grad());
}

}  // namespace feature_map

FeatureMap::FeatureMap(const torch::Tensor& x) {
  TORCH_CHECK(x.dim() == 4, "FeatureMap: expected a 4-D tensor, got ", x.sizes());
  channels_ = x.size(1);
  if (!feature_map::blocks(x)) {
    data_ = x;
    return;
  }
  torch::NoGradGuard no_grad;
  torch::Tensor source = x;
  dnnl::memory::desc source_desc;
  if (!onednn::plain_desc(source, source_desc)) {
    source = x.contiguous();
    onednn::plain_desc(source, source_desc);
  }
  data_ = onednn::blocked_storage(x.size(0), channels_, x.size(2), x.size(3));
  blocked_ = true;
  onednn::reorder(source_desc, source.data_ptr(), onednn::blocked_desc(x.size(0), channels_, x.size(2), x.size(3)), data_.data_ptr());
}

FeatureMap FeatureMap::dense(torch::Tensor x) {
  TORCH_CHECK(x.dim() == 4, "FeatureMap: expected a 4-D tensor, got ", x.sizes());
  const int64_t channels = x.size(1);
  return FeatureMap(std::move(x), channels, false);
}

FeatureMap FeatureMap::empty_like(const FeatureMap& like, int64_t channels) {
  TORCH_CHECK(like.defined(), "FeatureMap::empty_like: undefined map");
  if (!like.blocked_)
    return FeatureMap(torch::empty({like.batch(), channels, like.height(), like.width()}, like.data_.options()),
                      channels, false);
  torch::Tensor data = onednn::blocked_storage(like.batch(), channels, like.height(), like.width());
  if (channels % onednn::kBlock != 0) data.select(1, data.size(1) - 1).narrow(-1, channels % onednn::kBlock, onednn::kBlock - channels % onednn::kBlock).zero_();
  return FeatureMap(std::move(data), channels, true);
}

torch::Tensor FeatureMap::to_tensor(c10::MemoryFormat format) const {
  if (!blocked_) return data_;
  torch::NoGradGuard no_grad;
  const torch::Tensor source = data_.contiguous();
  torch::Tensor output =
      torch::empty({batch(), channels_, height(), width()}, data_.options().memory_format(format));
  dnnl::memory::desc output_desc;
  if (!onednn::plain_desc(output, output_desc)) {  // only for odd formats: go through NCHW
    output = torch::empty({batch(), channels_, height(), width()}, data_.options());
    onednn::plain_desc(output, output_desc);
  }
  onednn::reorder(onednn::blocked_desc(batch(), channels_, height(), width()), source.data_ptr(), output_desc, output.data_ptr());
  return output;
}

FeatureMap FeatureMap::narrow_channels(int64_t start, int64_t length) const {
  TORCH_CHECK(start >= 0 && length > 0 && start + length <= channels_, "FeatureMap::narrow_channels: [", start, ", ",
              start + length, ") is outside ", channels_, " channels");
  if (!blocked_) return FeatureMap(data_.narrow(1, start, length), length, false);
  TORCH_CHECK(start % onednn::kBlock == 0 && (length % onednn::kBlock == 0 || start + length == channels_),
              "FeatureMap::narrow_channels: blocked maps split at multiples of 16 channels");
  return FeatureMap(data_.narrow(1, start / onednn::kBlock, onednn::blocks_of(length)), length, true);
}

FeatureMap FeatureMap::cat(const std::vector<FeatureMap>& parts) {
  TORCH_CHECK(!parts.empty(), "FeatureMap::cat: no parts");
  bool all_blocked = true, any_blocked = false;
  int64_t channels = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    all_blocked = all_blocked && parts[i].blocked_ && (i + 1 == parts.size() || parts[i].channels_ % onednn::kBlock == 0);
    any_blocked = any_blocked || parts[i].blocked_;
    channels += parts[i].channels_;
  }
  std::vector<torch::Tensor> tensors;
  for (const FeatureMap& part : parts) tensors.push_back(all_blocked ? part.data_ : part.to_tensor());
  if (all_blocked) return FeatureMap(torch::cat(tensors, 1), channels, true);
  torch::Tensor dense = torch::cat(tensors, 1);
  return any_blocked ? FeatureMap(dense) : FeatureMap::dense(dense);
}

FeatureMap FeatureMap::converted_like(const FeatureMap& target) const {
  if (blocked_ == target.blocked_) return *this;
  if (!target.blocked_) return FeatureMap::dense(to_tensor());
  FeatureMap converted(data_.detach());  // blocked maps are for inference and carry no autograd history
  TORCH_CHECK(converted.blocked_, "FeatureMap: cannot combine a ", data_.scalar_type(), " ", data_.device(),
              " map with a blocked float32 map");
  return converted;
}

FeatureMap FeatureMap::add(const FeatureMap& other, double alpha) const {
  return FeatureMap(data_.add(other.converted_like(*this).data_, alpha), channels_, blocked_);
}

FeatureMap FeatureMap::mul(double factor) const { return FeatureMap(data_.mul(factor), channels_, blocked_); }

FeatureMap& FeatureMap::add_(const FeatureMap& other, double alpha) {
  data_.add_(other.converted_like(*this).data_, alpha);
  return *this;
}

FeatureMap& FeatureMap::mul_(double factor) {
  data_.mul_(factor);
  return *this;
}

FeatureMap& FeatureMap::copy_(const FeatureMap& source) {
  TORCH_CHECK(source.channels_ == channels_, "FeatureMap::copy_: ", source.channels_, " channels into ", channels_);
  data_.copy_(source.converted_like(*this).data_);
  return *this;
}

FeatureMap FeatureMap::clone() const { return FeatureMap(data_.clone(), channels_, blocked_); }

FeatureMap FeatureMap::upsample_nearest(int64_t factor) const {
  if (!blocked_) {
    const auto scale = static_cast<double>(factor);
    return FeatureMap::dense(feature_map::F::interpolate(
        data_, feature_map::F::InterpolateFuncOptions().scale_factor(std::vector<double>{scale, scale}).mode(torch::kNearest)));
  }
  const int64_t n = data_.size(0), c = data_.size(1), h = data_.size(2), w = data_.size(3);
  torch::Tensor upsampled = data_.unsqueeze(3).unsqueeze(5).expand({n, c, h, factor, w, factor, onednn::kBlock}).reshape(
      {n, c, h * factor, w * factor, onednn::kBlock});
  return FeatureMap(std::move(upsampled), channels_, true);
}

FeatureMap FeatureMap::map(const std::function<torch::Tensor(const torch::Tensor&)>& elementwise) const {
  torch::Tensor result = elementwise(data_);
  TORCH_CHECK(result.sizes() == data_.sizes(), "FeatureMap::map: the function changed the shape");
  if (blocked_ && channels_ % onednn::kBlock != 0) {
    if (!result.is_contiguous()) result = result.contiguous();
    result.select(1, result.size(1) - 1).narrow(-1, channels_ % onednn::kBlock, onednn::kBlock - channels_ % onednn::kBlock).zero_();
  }
  return FeatureMap(std::move(result), channels_, blocked_);
}

FeatureMap FeatureMap::wrap_blocked(torch::Tensor storage, int64_t channels) {
  return FeatureMap(std::move(storage), channels, true);
}

}  // namespace uprez
