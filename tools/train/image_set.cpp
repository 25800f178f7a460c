#include "image_set.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "image/image_io.h"
#include "image/image_tensor.h"
#include "image/resize.h"

namespace uprez::train {

namespace fs = std::filesystem;

std::vector<std::string> find_image_files(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    if (fs::is_directory(input)) {
      for (const fs::directory_entry& entry : fs::recursive_directory_iterator(input))
        if (entry.is_regular_file() && is_image_extension(entry.path().extension().string()))
          files.push_back(entry.path().string());
    } else if (fs::is_regular_file(input)) {
      files.push_back(input);
    } else {
      throw Error(input + ": no such file or folder");
    }
  }
  std::sort(files.begin(), files.end());
  files.erase(std::unique(files.begin(), files.end()), files.end());
  return files;
}

namespace image_set {

torch::Tensor rgb_planes(const Image& image) {
  const torch::Tensor color = image_to_tensor(image, 0, image.color_channels());
  return color.size(1) == 3 ? color : color.expand({1, 3, image.height, image.width}).contiguous();
}

bool has_transparency(const Image& image) {
  return image.has_alpha() && image_to_tensor(image, image.channels - 1, 1).min().item<float>() < 1.0f;
}

}  // namespace image_set

torch::Tensor read_rgb(const std::string& path) { return image_set::rgb_planes(read_image(path)); }

torch::Tensor load_training_image(const std::string& path, int max_side) {
  const Image image = read_image(path);
  // The colour under transparent pixels is arbitrary (often black or white): no ground truth to learn from.
  if (image_set::has_transparency(image)) throw Error(path + ": has transparent pixels");
  torch::Tensor rgb = image_set::rgb_planes(image);
  const int64_t height = rgb.size(2), width = rgb.size(3);
  if (max_side > 0 && std::max(height, width) > max_side) {
    const double factor = static_cast<double>(max_side) / static_cast<double>(std::max(height, width));
    rgb = resize(rgb, static_cast<int>(std::lround(width * factor)), static_cast<int>(std::lround(height * factor)),
                 ResizeFilter::Lanczos);
  }
  return rgb[0].mul(255).round_().clamp_(0, 255).to(torch::kUInt8);
}

}  // namespace uprez::train
