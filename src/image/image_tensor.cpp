// image_to_tensor / store_tensor_rows: plain loops over contiguous CPU memory, split over rows with
// at::parallel_for; no per-pixel torch calls.
#include "image/image_tensor.h"

#include <ATen/Parallel.h>

#include <cstring>
#include <string>

#include "core/error.h"

namespace uprez {
namespace image_tensor {

constexpr int64_t kRowsPerTask = 16;

void check_channels(const Image& image, int first, int count, const char* what) {
  if (first < 0 || count < 1 || first + count > image.channels)
    throw Error(std::string(what) + ": channels [" + std::to_string(first) + ", " + std::to_string(first + count) +
                ") are outside an image with " + std::to_string(image.channels) + " channel(s)");
}

template <typename Sample>
Sample load(const uint8_t* row, size_t index) {
  Sample value;
  std::memcpy(&value, row + index * sizeof(Sample), sizeof(Sample));
  return value;
}

template <typename Sample>
void to_planes(const Image& image, int first, int count, float* out) {
  const float max = sizeof(Sample) == 1 ? 255.0f : 65535.0f;
  const int64_t width = image.width, plane = width * image.height, stride = image.channels;
  at::parallel_for(0, image.height, kRowsPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t y = begin; y < end; ++y) {
      const uint8_t* row = image.row(static_cast<int>(y));
      for (int c = 0; c < count; ++c) {
        float* dst = out + c * plane + y * width;
        for (int64_t x = 0; x < width; ++x)
          dst[x] = static_cast<float>(load<Sample>(row, x * stride + first + c)) / max;
      }
    }
  });
}

template <typename Sample>
void from_planes(const float* in, int64_t channels, int64_t rows, Image& image, int y0, int first) {
  const float max = sizeof(Sample) == 1 ? 255.0f : 65535.0f;
  const int64_t width = image.width, stride = image.channels;
  at::parallel_for(0, rows, kRowsPerTask, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      uint8_t* row = image.row(static_cast<int>(y0 + r));
      for (int64_t c = 0; c < channels; ++c) {
        const float* src = in + (c * rows + r) * width;
        for (int64_t x = 0; x < width; ++x) {
          const float v = src[x] > 0.0f ? (src[x] < 1.0f ? src[x] : 1.0f) : 0.0f;  // NaN -> 0
          const Sample q = static_cast<Sample>(v * max + 0.5f);
          std::memcpy(row + (x * stride + first + c) * sizeof(Sample), &q, sizeof(Sample));
        }
      }
    }
  });
}

}  // namespace image_tensor

torch::Tensor image_to_tensor(const Image& image, int first_channel, int channel_count) {
  image_tensor::check_channels(image, first_channel, channel_count, "image_to_tensor");
  torch::Tensor out = torch::empty({1, channel_count, image.height, image.width}, torch::kFloat32);
  if (image.bit_depth == 16) image_tensor::to_planes<uint16_t>(image, first_channel, channel_count, out.data_ptr<float>());
  else image_tensor::to_planes<uint8_t>(image, first_channel, channel_count, out.data_ptr<float>());
  return out;
}

void store_tensor_rows(Image& image, const torch::Tensor& rows, int y0, int first_channel) {
  if (!(rows.dim() == 3 || (rows.dim() == 4 && rows.size(0) == 1)) || !rows.is_floating_point())
    throw Error("store_tensor_rows: expected a floating-point (C, rows, width) or (1, C, rows, width) tensor, got " +
                std::string(rows.toString()) + " of shape " + c10::str(rows.sizes()));
  torch::Tensor t = rows.dim() == 4 ? rows[0] : rows;
  const int64_t channels = t.size(0), count = t.size(1);
  if (t.size(2) != image.width || y0 < 0 || y0 + count > image.height)
    throw Error("store_tensor_rows: a tensor of shape " + c10::str(t.sizes()) + " does not fit at row " +
                std::to_string(y0) + " of a " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                " image");
  image_tensor::check_channels(image, first_channel, static_cast<int>(channels), "store_tensor_rows");
  if (count == 0) return;
  t = t.detach().to(torch::kCPU).to(torch::kFloat32).contiguous();
  if (image.bit_depth == 16) image_tensor::from_planes<uint16_t>(t.data_ptr<float>(), channels, count, image, y0, first_channel);
  else image_tensor::from_planes<uint8_t>(t.data_ptr<float>(), channels, count, image, y0, first_channel);
}

}  // namespace uprez
