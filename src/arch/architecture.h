// The architecture registry: how a state dict becomes a runnable super-resolution network, together with the
// metadata spandrel's ModelDescriptor reports (id, scale, channels, size requirements, tiling, dtypes, purpose).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/state_dict.h"

namespace uprez {

// spandrel's SizeRequirements: the input's width and height must be >= minimum, a multiple of multiple_of,
// and equal when square. The constructor rounds minimum up to a multiple of multiple_of, as spandrel does.
struct SizeRequirements {
  SizeRequirements(int minimum = 0, int multiple_of = 1, bool square = false);
  int minimum = 0;
  int multiple_of = 1;
  bool square = false;

  bool none() const { return minimum == 0 && multiple_of == 1 && !square; }
  // Padding (width, height) to add at the right/bottom so that a width x height input satisfies them.
  std::pair<int, int> padding(int width, int height) const;
};

enum class Tiling { Supported, Discouraged, Internal };
enum class Purpose { SR, FaceSR, Inpainting, Restoration };
const char* to_string(Tiling tiling);    // "supported" | "discouraged" | "internal"
const char* to_string(Purpose purpose);  // "SR" | "FaceSR" | "Inpainting" | "Restoration"

// A network's forward pass: NCHW in [0, 1] (the architecture's own normalisation happens inside) to NCHW
// scaled by ModelInfo::scale. Whatever spandrel's call_fn adds around model(x) belongs in forward too.
class Network : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  // Networks that draw random numbers in forward (AuraSR) use `draws`, in call order, instead of fresh ones, so
  // that a reference run can be reproduced; the others draw nothing and ignore them.
  virtual void replay_random_draws(std::vector<torch::Tensor> draws) {}
};

// What spandrel's ModelDescriptor reports, plus the hyper-parameters detection recovered.
struct ModelInfo {
  std::string architecture_id;    // spandrel's id, e.g. "ESRGAN"
  std::string architecture_name;  // spandrel's display name, e.g. "RealESRGAN Compact"
  Purpose purpose = Purpose::SR;
  std::vector<std::string> tags;
  int scale = 1;
  int input_channels = 3;
  int output_channels = 3;
  SizeRequirements size_requirements;
  Tiling tiling = Tiling::Supported;
  bool supports_half = true;
  bool supports_bfloat16 = true;
  nlohmann::json hyperparameters = nlohmann::json::object();  // spandrel's names and values
  int64_t parameter_count = 0;
};

// A loaded model: metadata and network. Calling it behaves like spandrel's descriptor call.
struct Model {
  ModelInfo info;
  std::shared_ptr<Network> network;

  // Moves the network to `device` in `dtype` (checked against supports_half / supports_bfloat16) and puts it
  // in inference mode.
  void to(torch::Device device, torch::Dtype dtype);
  torch::Device device() const;
  torch::Dtype dtype() const;

  // spandrel's descriptor call on a (1, input_channels, H, W) tensor in [0, 1]: pads right/bottom to the size
  // requirements (reflect up to size-1 pixels, then replicate), runs the network without autograd, clamps to
  // [0, 1] and crops to (H*scale, W*scale). The input is converted to the model's device and dtype; the
  // result stays there.
  torch::Tensor operator()(const torch::Tensor& input) const;
};

// One supported architecture: detect() looks only at key names and shapes; load() recovers the
// hyper-parameters, builds the network and loads the weights.
struct Architecture {
  const char* id;
  bool (*detect)(const StateDict& state);
  Model (*load)(const StateDict& state);
  // What --image-processor-help and the README list: the scales and image channel counts detection accepts.
  const char* scales = "";
  const char* channels = "";
};

// Every architecture, in spandrel's registry order (first match wins where key sets overlap).
const std::vector<Architecture>& architectures();

// Detects the architecture of `state` and loads it (float32, CPU, inference mode). Throws Error for a state
// dict that no architecture claims, listing its first keys so that users can report it; `source` names the
// file in messages.
Model load_model(const StateDict& state, const std::string& source);

}  // namespace uprez
