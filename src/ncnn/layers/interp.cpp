// ncnn's Interp (resize): 0 resize_type (1 nearest, 2 bilinear, 3 bicubic), 1 height_scale, 2 width_scale,
// 3 output_height, 4 output_width (the output size when both are set, else the input size times the scales,
// truncated), 5 dynamic_target_size (the output size is the w and h of a second input blob), 6 align_corner.
// (c, h, w) blobs are resized in both axes, (h, w) blobs along w only, and a (w) blob becomes w constant channels.
// Sampling follows ncnn exactly: nearest reads floor(x * r) with the float ratio r = in / out (1 / scale when the
// size comes from the scales, even with a dynamic target size); bilinear and bicubic sample at
// (x + 0.5) * in / out - 0.5, or x * (in - 1) / (out - 1) with align_corner, with ncnn's edge handling; bicubic
// uses Keys' kernel with A = -0.75. Rows are resampled first, then columns, as ncnn does.
#include <algorithm>
#include <cmath>

#include "ncnn/layers/layers.h"
#include "ncnn/layers/spatial.h"

namespace uprez::ncnn {

namespace interp {

enum class ResizeType { Nearest = 1, Bilinear = 2, Bicubic = 3 };

// How one axis is resampled: output position i is the sum over taps k of input[index[k][i]] * weight[k][i], the
// taps in order (nearest: one tap and no weights).
struct AxisSampling {
  int64_t taps = 1;
  int64_t size = 0;            // output positions
  std::vector<int64_t> index;  // taps x size, tap-major
  std::vector<float> weight;   // taps x size, or empty
};

AxisSampling nearest_sampling(int64_t in, int64_t out, float ratio) {
  AxisSampling sampling{1, out, std::vector<int64_t>(out), {}};
  for (int64_t x = 0; x < out; ++x)
    sampling.index[x] = std::min<int64_t>(static_cast<int>(static_cast<float>(x) * ratio), in - 1);
  return sampling;
}

// The source position of output `x` (ncnn's linear_coeffs / cubic_coeffs), in float as ncnn computes it.
float source_position(int64_t x, double scale, bool align_corner) {
  return align_corner ? static_cast<float>(static_cast<double>(x) * scale)
                      : static_cast<float>((static_cast<double>(x) + 0.5) * scale - 0.5);
}

double source_scale(int64_t in, int64_t out, bool align_corner) {
  if (!align_corner) return static_cast<double>(in) / static_cast<double>(out);
  return out > 1 ? static_cast<double>(in - 1) / static_cast<double>(out - 1) : 0.0;
}

// Stores tap `tap` of output `x`: ncnn reads index `source` with `weight` (indices outside the input, which ncnn
// reads only with weight 0 or for inputs too small for the kernel, are clamped to its edge).
void set_tap(AxisSampling& sampling, int64_t tap, int64_t x, int64_t source, int64_t in, float weight) {
  sampling.index[tap * sampling.size + x] = std::clamp<int64_t>(source, 0, in - 1);
  sampling.weight[tap * sampling.size + x] = weight;
}

AxisSampling linear_sampling(int64_t in, int64_t out, bool align_corner) {
  AxisSampling sampling{2, out, std::vector<int64_t>(2 * out), std::vector<float>(2 * out)};
  const double scale = source_scale(in, out, align_corner);
  for (int64_t x = 0; x < out; ++x) {
    float fx = source_position(x, scale, align_corner);
    int64_t sx = static_cast<int>(std::floor(fx));
    fx -= static_cast<float>(sx);
    if (sx < 0) {
      sx = 0;
      fx = 0.f;
    }
    if (sx >= in - 1) {
      sx = in - 2;
      fx = 1.f;
    }
    set_tap(sampling, 0, x, sx, in, 1.f - fx);
    set_tap(sampling, 1, x, sx + 1, in, fx);
  }
  return sampling;
}

AxisSampling cubic_sampling(int64_t in, int64_t out, bool align_corner) {
  AxisSampling sampling{4, out, std::vector<int64_t>(4 * out), std::vector<float>(4 * out)};
  const double scale = source_scale(in, out, align_corner);
  for (int64_t x = 0; x < out; ++x) {
    float fx = source_position(x, scale, align_corner);
    int64_t sx = static_cast<int>(std::floor(fx));
    fx -= static_cast<float>(sx);
    // Keys' cubic convolution kernel at distances fx + 1, fx, 1 - fx, 2 - fx (ncnn's interpolate_cubic).
    constexpr float A = -0.75f;
    const float fx0 = fx + 1, fx1 = fx, fx2 = 1 - fx;
    float c[4];
    c[0] = A * fx0 * fx0 * fx0 - 5 * A * fx0 * fx0 + 8 * A * fx0 - 4 * A;
    c[1] = (A + 2) * fx1 * fx1 * fx1 - (A + 3) * fx1 * fx1 + 1;
    c[2] = (A + 2) * fx2 * fx2 * fx2 - (A + 3) * fx2 * fx2 + 1;
    c[3] = 1.f - c[0] - c[1] - c[2];
    // Near the edges ncnn moves the four taps inside the image, folding the outer weights onto the edge pixel.
    if (sx <= -1) {
      sx = 1;
      c[0] = 1.f - c[3];
      c[1] = c[3];
      c[2] = c[3] = 0.f;
    }
    if (sx == 0) {
      sx = 1;
      c[0] = c[0] + c[1];
      c[1] = c[2];
      c[2] = c[3];
      c[3] = 0.f;
    }
    if (sx == in - 2) {
      sx = in - 3;
      c[3] = c[2] + c[3];
      c[2] = c[1];
      c[1] = c[0];
      c[0] = 0.f;
    }
    if (sx >= in - 1) {
      sx = in - 3;
      c[3] = 1.f - c[0];
      c[2] = c[0];
      c[1] = c[0] = 0.f;
    }
    for (int64_t tap = 0; tap < 4; ++tap) set_tap(sampling, tap, x, sx - 1 + tap, in, c[tap]);
  }
  return sampling;
}

// `blob` resampled along `axis` (-1: width, -2: height).
torch::Tensor resample(const torch::Tensor& blob, int64_t axis, const AxisSampling& sampling) {
  const torch::Tensor index = torch::tensor(sampling.index).view({sampling.taps, sampling.size}).to(blob.device());
  if (sampling.weight.empty()) return blob.index_select(axis, index[0]);
  std::vector<int64_t> weight_shape{sampling.taps, sampling.size};
  if (axis == -2) weight_shape.push_back(1);
  const torch::Tensor weight = torch::tensor(sampling.weight).view(weight_shape).to(blob.device(), blob.scalar_type());
  torch::Tensor result = blob.index_select(axis, index[0]).mul_(weight[0]);
  for (int64_t tap = 1; tap < sampling.taps; ++tap) result.add_(blob.index_select(axis, index[tap]).mul_(weight[tap]));
  return result;
}

class Interp final : public Layer {
 public:
  void load_param(const ParamDict& params) override {
    const int type = params.get_int(0, 0);
    if (type < 1 || type > 3)
      params.fail(0,
                  "unsupported resize_type " + std::to_string(type) + " (expected 1 nearest, 2 bilinear, 3 bicubic)");
    type_ = static_cast<ResizeType>(type);
    height_scale_ = params.get_float(1, 1.f);
    width_scale_ = params.get_float(2, 1.f);
    output_height_ = params.get_int(3, 0);
    output_width_ = params.get_int(4, 0);
    dynamic_target_size_ = params.get_int(5, 0) != 0;
    align_corner_ = params.get_int(6, 0) != 0;
  }

  // Nearest upscaling by the same integer factor in both axes (ncnn's sampling then reads pixel x / factor).
  MapUse map_use() const override { return integer_nearest_factor() > 0 ? MapUse::WhenMapped : MapUse::Never; }
  std::vector<FeatureMap> forward_maps(const std::vector<FeatureMap>& inputs, const PostOps&) const override {
    if (inputs.size() != 1) return {};
    return {inputs[0].upsample_nearest(integer_nearest_factor())};
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    expect_input_count(*this, inputs, dynamic_target_size_ ? 2 : 1);
    const torch::Tensor& input = inputs[0];
    if (input.dim() < 1 || input.dim() > 3)
      layer_error(*this, "expects a (w), (h, w) or (c, h, w) blob, got shape " + shape_text(input));
    const spatial::MatShape shape = spatial::mat_shape(input);
    int64_t out_w = output_width_, out_h = output_height_;
    if (dynamic_target_size_) {
      const spatial::MatShape target = spatial::mat_shape(inputs[1]);
      out_w = target.w;
      out_h = target.h;
    } else if (out_w == 0 || out_h == 0) {
      // ncnn scales a (w) blob as a 1 x 1 image.
      const int64_t in_w = shape.dims == 1 ? 1 : shape.w, in_h = shape.dims == 1 ? 1 : shape.h;
      out_w = static_cast<int>(static_cast<float>(in_w) * width_scale_);
      out_h = static_cast<int>(static_cast<float>(in_h) * height_scale_);
    }
    if (out_w <= 0 || out_h <= 0)
      layer_error(*this, "output size " + std::to_string(out_h) + "x" + std::to_string(out_w) + " for input " +
                               shape_text(input) + " is empty");

    if (shape.dims == 1) return {input.reshape({shape.w, 1, 1}).expand({shape.w, out_h, out_w}).contiguous()};
    if (out_w == shape.w && (shape.dims == 2 || out_h == shape.h)) return {input};
    const torch::Tensor rows_resized = resample(input, -1, sampling(shape.w, out_w, output_width_, width_scale_));
    if (shape.dims == 2) return {rows_resized};
    return {resample(rows_resized, -2, sampling(shape.h, out_h, output_height_, height_scale_))};
  }

 private:
  // The factor of a nearest upscaling by scales that are the same integer in both axes, else 0.
  int64_t integer_nearest_factor() const {
    if (type_ != ResizeType::Nearest || dynamic_target_size_ || output_width_ != 0 || output_height_ != 0 ||
        height_scale_ != width_scale_ || height_scale_ < 1.f || height_scale_ > 16.f ||
        height_scale_ != std::floor(height_scale_))
      return 0;
    return static_cast<int64_t>(height_scale_);
  }

  // The sampling of one axis from `in` to `out` pixels; `output_size_param` and `scale` are that axis's params.
  AxisSampling sampling(int64_t in, int64_t out, int64_t output_size_param, float scale) const {
    switch (type_) {
      case ResizeType::Nearest:
        return nearest_sampling(
            in, out, output_size_param != 0 ? static_cast<float>(in) / static_cast<float>(out) : 1.f / scale);
      case ResizeType::Bilinear: return linear_sampling(in, out, align_corner_);
      case ResizeType::Bicubic: return cubic_sampling(in, out, align_corner_);
    }
    return {};
  }

  ResizeType type_ = ResizeType::Nearest;
  float height_scale_ = 1.f, width_scale_ = 1.f;
  int64_t output_height_ = 0, output_width_ = 0;
  bool dynamic_target_size_ = false;
  bool align_corner_ = false;
};

}  // namespace interp

std::unique_ptr<Layer> make_interp_layer() { return std::make_unique<interp::Interp>(); }

}  // namespace uprez::ncnn
