// An NCNN network: a .param graph with its .bin weights, run layer by layer on LibTorch tensors. Loading checks
// the graph (every blob produced once before it is used, known layer types) and that the .bin is consumed exactly.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "ncnn/layer.h"

namespace uprez::ncnn {

class Net {
 public:
  // Reads `param_path` (text .param, magic 7767517) and `bin_path`. Throws Error naming the file (and the line,
  // for .param problems): malformed lines, unknown layer types, undefined or duplicate blobs, a .bin that is too
  // short or too long.
  static Net load(const std::string& param_path, const std::string& bin_path);

  // The blobs the apps use: the first layer's first output and the last layer's first output.
  const std::string& default_input() const { return default_input_; }
  const std::string& default_output() const { return default_output_; }
  bool has_blob(const std::string& name) const;

  // Runs the layers needed for `output` with `input` (a (c, h, w) float tensor) bound to blob `input_blob`;
  // intermediate blobs are freed as soon as their last consumer has run.
  torch::Tensor run(const torch::Tensor& input, const std::string& input_blob, const std::string& output_blob) const;

  // Moves every layer's weights.
  void to(const torch::Device& device, torch::Dtype dtype);

  struct LayerEntry {
    std::unique_ptr<Layer> layer;
    std::vector<int> inputs;   // blob indices
    std::vector<int> outputs;  // blob indices
  };
  const std::vector<LayerEntry>& layers() const { return layers_; }
  const std::vector<std::string>& blob_names() const { return blob_names_; }

 private:
  std::vector<LayerEntry> layers_;
  std::vector<std::string> blob_names_;
  std::string default_input_, default_output_;
  std::string param_path_;  // for error messages
};

}  // namespace uprez::ncnn
