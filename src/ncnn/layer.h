// The interface every NCNN layer implements (one file per layer type under layers/, as ncnn does), and the
// factory that makes a layer from its type name.
//
// Blobs are float32 LibTorch tensors without a batch dimension, in ncnn's Mat shapes: dims 1: (w), dims 2: (h, w),
// dims 3: (c, h, w), dims 4: (c, d, h, w). Axis parameters therefore mean what they mean in ncnn (axis 0 of a
// 3-D blob is the channel axis). Tensors may live on any device; layers keep device and dtype of their inputs
// (weights are moved with to()).
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "ncnn/model_bin.h"
#include "ncnn/option.h"
#include "ncnn/param_dict.h"
#include "nn/fast_conv.h"

namespace uprez::ncnn {

class Layer {
 public:
  virtual ~Layer() = default;

  // Reads the layer's parameters; an unsupported value is an error naming it (params.fail).
  virtual void load_param(const ParamDict& params) { (void)params; }
  // Reads the layer's weights from the .bin, in ncnn's order for this layer type.
  virtual void load_model(ModelBin& bin) { (void)bin; }
  // Takes the network's options once the weights are read (ncnn's create_pipeline); default: none needed.
  virtual void create_pipeline(const Option& opt) { (void)opt; }
  // Moves the weights (default: none).
  virtual void to(const torch::Device& device, torch::Dtype dtype) {
    (void)device;
    (void)dtype;
  }
  // The output blobs for the input blobs (as many as the .param line lists). Throws Error for inputs the layer
  // cannot take (wrong dims, mismatched shapes), naming the layer.
  virtual std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const = 0;

  // The feature-map path. Between layers that have it, the runner keeps (c, h, w) blobs as (1, c, h, w)
  // FeatureMaps (oneDNN's blocked layout on the CPU), so that a chain of convolutions converts layouts only at its
  // ends. map_use says when the runner hands this layer maps (every input must be a map or a (c, h, w) blob).
  enum class MapUse {
    Never,
    WhenMapped,  // when an input already is a map (layers that cost the same in either layout)
    Always,      // convolutions: they convert to the blocked layout anyway
  };
  virtual MapUse map_use() const { return MapUse::Never; }
  // The outputs as maps, with `epilogue` applied to the (single) output (non-empty only for layers that
  // accept_epilogue); empty when these inputs need the tensor path, which the runner then takes. Errors as forward.
  virtual std::vector<FeatureMap> forward_maps(const std::vector<FeatureMap>& inputs, const PostOps& epilogue) const {
    (void)inputs;
    (void)epilogue;
    return {};
  }

  // As forward_maps for a single output written into `destination` (a channel slice of a concatenation's buffer);
  // false, with nothing written, when this layer or these shapes cannot.
  virtual bool forward_map_into(const std::vector<FeatureMap>& inputs, const PostOps& epilogue,
                                const FeatureMap& destination) const {
    (void)inputs;
    (void)epilogue;
    (void)destination;
    return false;
  }

  // Fusion, as ncnnoptimize does it but at run time: a layer that accepts_epilogue (a convolution) takes over the
  // layer that is the only reader of its output, when that one has an epilogue: an activation (its post-operations),
  // or a weighted sum of its two inputs, coefficients[i] * input i (the other operand becomes a residual).
  struct Epilogue {
    PostOps activation;
    bool weighted_sum = false;
    std::array<double, 2> coefficients{1, 1};
  };
  virtual bool accepts_epilogue() const { return false; }

  // The channel count of the output when the parameters fix it (a convolution's num_output), else 0.
  virtual int64_t output_channels() const { return 0; }
  virtual std::optional<Epilogue> epilogue() const { return std::nullopt; }

  std::string type;  // e.g. "Convolution"
  std::string name;  // the layer's name in the .param file
  // "<param file>:<line>: <type> <name>", for error messages.
  std::string context;
  // How many output blobs the .param line lists (set before load_param); forward returns that many tensors.
  int output_count = 0;
};

// A new layer of ncnn type `type`, or nullptr for an unknown type.
std::unique_ptr<Layer> create_layer(const std::string& type);

// The type names create_layer knows, sorted.
std::vector<std::string> layer_types();

}  // namespace uprez::ncnn
