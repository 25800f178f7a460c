// An NCNN network: a .param graph with its .bin weights, run layer by layer on LibTorch tensors. Loading checks
// the graph (every blob produced once before it is used, known layer types) and that the .bin is consumed exactly.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include "ncnn/layer.h"
#include "ncnn/option.h"

namespace uprez::ncnn {

struct ParamFile;

class Net {
 public:
  // Reads `param_path` (text .param, magic 7767517) and `bin_path`. Throws Error naming the file (and the line,
  // for .param problems): malformed lines, unknown layer types, undefined or duplicate blobs, a .bin that is too
  // short or too long.
  // `opt` goes to every layer.
  static Net load(const std::string& param_path, const std::string& bin_path, const Option& opt = {});
  // The same from `file`, already read from `param_path`.
  static Net load(const ParamFile& file, const std::string& param_path, const std::string& bin_path,
                  const Option& opt = {});

  // The blobs the apps use: the first layer's first output and the last layer's first output.
  const std::string& default_input() const { return default_input_; }
  const std::string& default_output() const { return default_output_; }
  bool has_blob(const std::string& name) const;
  const std::string& param_path() const { return param_path_; }

  // Runs the layers needed for `output` with `input` (a (c, h, w) float tensor) bound to blob `input_blob`;
  // intermediate blobs are freed as soon as their last consumer has run. Layers run on feature maps where they can
  // (Layer::map_use) and convolutions take over the activations and sums after them (Layer::Epilogue); neither
  // the bound nor the requested blobs are ever fused away.
  torch::Tensor run(const torch::Tensor& input, const std::string& input_blob, const std::string& output_blob) const;
  // The same with several bound blobs (name, tensor).
  using Inputs = std::vector<std::pair<std::string, torch::Tensor>>;
  torch::Tensor run(const Inputs& inputs, const std::string& output_blob) const;

  // Moves every layer's weights.
  void to(const torch::Device& device, torch::Dtype dtype);

  // The steps of a run binding `bound_blobs` and producing `output_blob`: the names of each step's layers (a
  // layer, then the layers it takes over), in the order they run.
  std::vector<std::vector<std::string>> step_layers(const std::vector<std::string>& bound_blobs,
                                                    const std::string& output_blob) const;

  struct LayerEntry {
    std::unique_ptr<Layer> layer;
    std::vector<int> inputs;   // blob indices
    std::vector<int> outputs;  // blob indices
  };
  const std::vector<LayerEntry>& layers() const { return layers_; }
  const std::vector<std::string>& blob_names() const { return blob_names_; }

  // A layer taken over by the step before it (Layer::Epilogue): the step's result is its input `slot`; `other` is
  // the blob of a weighted sum's other operand (-1 for activations).
  struct FusedLayer {
    int layer = 0;
    int slot = 0;
    int other = -1;
  };
  // One step of a run: a layer and the layers fused into it, producing the last one's outputs.
  struct Step {
    int layer = 0;
    std::vector<FusedLayer> fused;
    std::vector<int> outputs;
    // Where the step runs: at its last layer, when every blob it reads exists.
    int position() const { return fused.empty() ? layer : fused.back().layer; }
  };

 private:
  int blob_index(const std::string& name) const;  // throws for unknown names
  // The steps producing blob `output_index` from the `bound` blobs: the needed layers, each convolution taking over
  // the chain of layers with epilogues that are the only readers of its output (bound blobs and the output are
  // never fused away), ordered by position.
  std::vector<Step> plan(const std::vector<bool>& bound, int output_index) const;

  std::vector<LayerEntry> layers_;
  std::vector<std::string> blob_names_;
  std::string default_input_, default_output_;
  std::string param_path_;  // for error messages
};

}  // namespace uprez::ncnn
