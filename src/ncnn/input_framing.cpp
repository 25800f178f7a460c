#include "ncnn/input_framing.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "core/error.h"

namespace uprez::ncnn {

namespace input_framing {

constexpr int kSamePadding = -233;  // -233 / -234: ncnn's "same" padding modes
constexpr int kSamePaddingLower = -234;

// Whether a window of `kernel` taps `dilation` apart, moved by `stride`, padded by `before` + `after`, keeps
// (size / stride) outputs: a downsampling window with kernel == stride needs no padding.
bool keeps_size(int kernel, int dilation, int stride, int before, int after) {
  if (before == kSamePadding || before == kSamePaddingLower) return true;
  return before + after >= dilation * (kernel - 1) - (stride - 1);
}

bool convolution_crops(const ParamDict& p) {
  const int kernel_w = p.get_int(1, 0), kernel_h = p.get_int(11, kernel_w);
  const int dilation_w = p.get_int(2, 1), dilation_h = p.get_int(12, dilation_w);
  const int stride_w = p.get_int(3, 1), stride_h = p.get_int(13, stride_w);
  const int left = p.get_int(4, 0), right = p.get_int(15, left), top = p.get_int(14, left),
            bottom = p.get_int(16, top);
  return !keeps_size(kernel_w, dilation_w, stride_w, left, right) ||
         !keeps_size(kernel_h, dilation_h, stride_h, top, bottom);
}

bool pooling_crops(const ParamDict& p) {
  if (p.get_int(4, 0) != 0) return false;  // global pooling
  const int kernel_w = p.get_int(1, 0), kernel_h = p.get_int(11, kernel_w);
  const int stride_w = p.get_int(2, 1), stride_h = p.get_int(12, stride_w);
  const int left = p.get_int(3, 0), right = p.get_int(14, left), top = p.get_int(13, left),
            bottom = p.get_int(15, top);
  const bool same_mode = p.get_int(5, 0) >= 2;  // pad_mode 2, 3: "same" upper / lower
  return !same_mode && (!keeps_size(kernel_w, 1, stride_w, left, right) ||
                        !keeps_size(kernel_h, 1, stride_h, top, bottom));
}

// Real-CUGAN's graphs are pnnx exports, whose Crop layers slice with start/end arrays.
bool is_real_cugan_graph(const ParamFile& file) {
  return std::any_of(file.layers.begin(), file.layers.end(),
                     [](const ParamLayer& layer) { return layer.type == "Crop" && layer.params.has(9); });
}

// The output side length for a blank `size` x `size` input, or nothing when the net refuses that size.
std::optional<int64_t> probe_output_size(const Net& net, const std::string& input_blob,
                                         const std::string& output_blob, int channels, int64_t size,
                                         const torch::Device& device) {
  torch::NoGradGuard no_grad;
  try {
    const torch::Tensor output =
        net.run(torch::zeros({channels, size, size}, torch::TensorOptions(device)), input_blob, output_blob);
    if (output.dim() != 3 || output.size(1) != output.size(2) || output.size(1) < 1) return std::nullopt;
    return output.size(1);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// reflect101 index of position `index` in [0, size), folded as often as needed.
int64_t reflect101(int64_t index, int64_t size) {
  if (size == 1) return 0;
  const int64_t period = 2 * (size - 1);
  int64_t folded = index % period;
  if (folded < 0) folded += period;
  return folded < size ? folded : period - folded;
}

torch::Tensor border_indices(int64_t size, int64_t before, int64_t after, InputFraming::Border border,
                             const torch::Device& device) {
  std::vector<int64_t> indices(before + size + after);
  for (int64_t i = 0; i < static_cast<int64_t>(indices.size()); ++i) {
    const int64_t source = i - before;
    indices[i] = border == InputFraming::Border::Replicate ? std::clamp<int64_t>(source, 0, size - 1)
                                                           : reflect101(source, size);
  }
  return torch::tensor(indices, torch::kLong).to(device);
}

int64_t round_up(int64_t value, int64_t multiple) { return (value + multiple - 1) / multiple * multiple; }

}  // namespace input_framing

bool graph_crops_input(const ParamFile& file) {
  return std::any_of(file.layers.begin(), file.layers.end(), [](const ParamLayer& layer) {
    if (layer.type == "Crop") return true;
    if (layer.type == "Convolution" || layer.type == "ConvolutionDepthWise") return input_framing::convolution_crops(layer.params);
    if (layer.type == "Pooling") return input_framing::pooling_crops(layer.params);
    return false;
  });
}

InputFraming measure_input_framing(const Net& net, const ParamFile& file, const std::string& path,
                                   const std::string& input_blob, const std::string& output_blob, int channels,
                                   int scale, const torch::Device& device) {
  // Each accepted size N gives an output O and a crop N * scale - O. The sizes the net takes exactly crop the
  // least (2 * scale * prepadding); the others lose a remainder to strided layers. The apps' prepadding is at most
  // a few dozen pixels and their alignment at most 4, so 8 sizes from 64 show two exact ones; larger starts serve
  // graphs that crop more.
  constexpr int kProbesPerStart = 8;
  for (const int64_t start : {64, 160, 400}) {
    std::vector<std::pair<int64_t, int64_t>> accepted;  // (input size, crop)
    for (int64_t size = start; size < start + kProbesPerStart; ++size)
      if (const auto output = input_framing::probe_output_size(net, input_blob, output_blob, channels, size, device))
        accepted.emplace_back(size, size * scale - *output);
    if (accepted.empty()) continue;
    const int64_t least_crop =
        std::min_element(accepted.begin(), accepted.end(), [](const auto& a, const auto& b) {
          return a.second < b.second;
        })->second;
    std::vector<int64_t> exact;
    for (const auto& [size, crop] : accepted)
      if (crop == least_crop) exact.push_back(size);
    if (exact.size() < 2) continue;
    if (least_crop < 0 || least_crop % (2 * scale) != 0)
      throw Error(path + ": the network cuts " + std::to_string(least_crop) + " pixels from an output of scale " +
                  std::to_string(scale) + ", which is no whole padding on each side");

    InputFraming framing;
    framing.prepadding = static_cast<int>(least_crop / (2 * scale));
    framing.align = static_cast<int>(exact[1] - exact[0]);
    for (size_t i = 1; i < exact.size(); ++i)
      if (exact[i] - exact[i - 1] != framing.align || (exact[i] - 2 * framing.prepadding) % framing.align != 0)
        throw Error(path + ": the sizes the network takes exactly are not a padding of " +
                    std::to_string(framing.prepadding) + " around a multiple of " + std::to_string(framing.align));
    if (input_framing::is_real_cugan_graph(file)) {
      framing.border = InputFraming::Border::Reflect101;
      framing.adds_nearest_base = scale == 4;
    }
    return framing;
  }
  throw Error(path + ": the network crops its input, and no two square sizes among 64-71, 160-167 and 400-407 "
                     "run through it exactly, so its padding cannot be worked out");
}

torch::Tensor pad_image(const torch::Tensor& image, int64_t top, int64_t bottom, int64_t left, int64_t right,
                        InputFraming::Border border) {
  const torch::Tensor rows = input_framing::border_indices(image.size(-2), top, bottom, border, image.device());
  const torch::Tensor columns = input_framing::border_indices(image.size(-1), left, right, border, image.device());
  return image.index_select(-2, rows).index_select(-1, columns);
}

torch::Tensor run_framed(const Net& net, const InputFraming& framing, const torch::Tensor& image,
                         const std::string& input_blob, const std::string& output_blob, int scale) {
  const int64_t height = image.size(1), width = image.size(2);
  const int64_t pad = framing.prepadding;
  const torch::Tensor framed =
      framing.crops_input() ? pad_image(image, pad, pad + input_framing::round_up(height, framing.align) - height, pad,
                                        pad + input_framing::round_up(width, framing.align) - width, framing.border)
                            : image;
  torch::Tensor output = net.run(framed, input_blob, output_blob);
  const int64_t expected_height = (framed.size(1) - 2 * pad) * scale;
  const int64_t expected_width = (framed.size(2) - 2 * pad) * scale;
  if (output.dim() != 3 || output.size(1) != expected_height || output.size(2) != expected_width)
    throw Error(net.param_path() + ": the network turned a " + std::to_string(framed.size(2)) + "x" +
                std::to_string(framed.size(1)) + " input into " + std::to_string(output.size(-1)) + "x" +
                std::to_string(output.dim() > 1 ? output.size(-2) : 1) + ", not " + std::to_string(expected_width) +
                "x" + std::to_string(expected_height) + " (x" + std::to_string(scale) +
                (pad > 0 ? ", less " + std::to_string(pad) + " pixels of padding per side)" : ")"));
  output = output.slice(1, 0, height * scale).slice(2, 0, width * scale);
  if (framing.adds_nearest_base) {
    const int64_t shared = std::min(output.size(0), image.size(0));
    output = output.clone();
    output.narrow(0, 0, shared)
        .add_(image.narrow(0, 0, shared).repeat_interleave(scale, 1).repeat_interleave(scale, 2));
  }
  return output;
}

}  // namespace uprez::ncnn
