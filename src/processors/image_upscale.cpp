#include "processors/image_upscale.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "image/image_tensor.h"
#include "image/resize.h"

namespace uprez {

namespace image_upscale {

// One model run over the whole image: how to build its input from the image, and where its output goes.
struct Pass {
  torch::Tensor input;         // (1, model input channels, H, W)
  int output_channel = 0;      // first channel of the output image it fills
  bool average_output = false; // reduce the model's channels to one by their mean
};

torch::Tensor luma(const torch::Tensor& rgb) {
  return 0.299 * rgb.slice(1, 0, 1) + 0.587 * rgb.slice(1, 1, 2) + 0.114 * rgb.slice(1, 2, 3);
}

// Color channels of `image` as the model's input channels.
torch::Tensor color_input(const Image& image, int model_channels) {
  torch::Tensor color = image_to_tensor(image, 0, image.color_channels());
  const int channels = image.color_channels();
  if (model_channels == channels) return color;
  if (model_channels == 3) return color.expand({1, 3, -1, -1});
  if (model_channels == 1) {
    // dgenerate: keep the red channel of an image that is already gray, else convert with BT.601 luma.
    const bool gray = torch::equal(color.slice(1, 0, 1), color.slice(1, 1, 2)) &&
                      torch::equal(color.slice(1, 0, 1), color.slice(1, 2, 3));
    return gray ? color.slice(1, 0, 1) : luma(color);
  }
  // 4-channel models: RGB plus the image's alpha, or an opaque one (as dgenerate does).
  torch::Tensor rgb = channels == 1 ? color.expand({1, 3, -1, -1}) : color;
  torch::Tensor alpha = image.has_alpha() ? image_to_tensor(image, image.channels - 1, 1)
                                          : torch::ones_like(rgb.slice(1, 0, 1));
  return torch::cat({rgb, alpha}, 1);
}

}  // namespace image_upscale

Image upscale_image(const Image& image, const UpscaleModel& model, const TileOptions& tiles,
                    const ProgressCallback& progress) {
  const int mi = model.input_channels;
  const int mo = model.output_channels;
  if (mi == 2 || mo == 2 || mi < 1 || mi > 4 || mo < 1 || mo > 4)
    throw Error("models with " + std::to_string(mi) + " input and " + std::to_string(mo) +
                " output channels are not supported (1, 3 or 4 are)");

  // The model's output becomes the color channels, except that a 3-channel result for a gray image stays gray.
  const bool gray_result = image.color_channels() == 1 && mo == 3;
  const int color_out = gray_result ? 1 : mo;
  const bool separate_alpha = image.has_alpha() && mi != 4 && mo != 4;
  const int out_channels = color_out + (separate_alpha ? 1 : 0);

  std::vector<image_upscale::Pass> passes;
  passes.push_back({image_upscale::color_input(image, mi), 0, gray_result});
  if (separate_alpha) {
    torch::Tensor alpha = image_to_tensor(image, image.channels - 1, 1);
    passes.push_back({mi == 3 ? alpha.expand({1, 3, -1, -1}) : alpha, color_out, mi == 3});
  }

  const int64_t out_w = static_cast<int64_t>(image.width) * model.scale;
  const int64_t out_h = static_cast<int64_t>(image.height) * model.scale;
  if (out_w > 65535 * 4 || out_h > 65535 * 4)
    throw Error("the upscaled image would be " + std::to_string(out_w) + "x" + std::to_string(out_h) +
                " pixels, which is too large");
  Image output(static_cast<int>(out_w), static_cast<int>(out_h), out_channels, image.bit_depth);
  output.icc_profile = image.icc_profile;

  const int tiles_per_pass = count_tiles(image.width, image.height, tiles);
  const int64_t total = tiles_per_pass * static_cast<int64_t>(passes.size());
  for (size_t p = 0; p < passes.size(); ++p) {
    const image_upscale::Pass& pass = passes[p];
    const int64_t done_before = tiles_per_pass * static_cast<int64_t>(p);
    run_tiled(
        pass.input.contiguous(), model.scale, tiles, model.run,
        [&](int y0, const torch::Tensor& rows) {
          store_tensor_rows(output, pass.average_output ? rows.mean(0, true) : rows, y0, pass.output_channel);
        },
        [&](int done, int) {
          if (progress) progress(done_before + done, total);
        });
  }
  return output;
}

Image resize_to_scale(Image upscaled, const Image& source, double scale) {
  const int width = std::max(1, static_cast<int>(std::lround(source.width * scale)));
  const int height = std::max(1, static_cast<int>(std::lround(source.height * scale)));
  if (width == upscaled.width && height == upscaled.height) return upscaled;
  const ResizeFilter filter = width > upscaled.width ? ResizeFilter::Lanczos : ResizeFilter::Area;
  return resize_image(upscaled, width, height, filter);
}

}  // namespace uprez
