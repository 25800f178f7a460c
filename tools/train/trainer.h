// Trains a Compact (SRVGGNetCompact) network on the CPU with LibTorch autograd: L1 loss (plus an optional
// image-gradient term), Adam, cosine learning-rate decay. Saves resumable checkpoints and exports the weights as
// a spandrel-compatible .safetensors file (spandrel's parameter names, from uprez's own CompactNetwork).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "arch/compact.h"
#include "patch_sampler.h"

namespace uprez::train {

struct TrainOptions {
  int features = 32;  // Compact's num_feat
  int convs = 8;      // Compact's num_conv
  int scale = 4;
  int64_t steps = 100000;
  double learning_rate = 5e-4;      // at step 0
  double min_learning_rate = 1e-6;  // at the last step (cosine decay in between)
  double edge_weight = 0.0;         // weight of the image-gradient L1 term
  uint64_t seed = 1;                // weight initialisation
};

// Mean absolute error plus edge_weight times the mean absolute error of the horizontal and vertical pixel
// differences (which penalises blurred and displaced edges more than plain L1 does).
torch::Tensor reconstruction_loss(const torch::Tensor& output, const torch::Tensor& target, double edge_weight);

// The learning rate of step `step` (0-based): cosine decay from learning_rate to min_learning_rate.
double cosine_learning_rate(const TrainOptions& options, int64_t step);

class Trainer {
 public:
  // A fresh network (PReLU, He-initialised weights drawn from options.seed, zero biases; the last convolution
  // starts at zero, so that training starts at the nearest-neighbour residual base) and its optimizer.
  explicit Trainer(const TrainOptions& options);

  // One Adam step on `batch` at the learning rate of the current step; returns the batch's loss.
  double step(const PatchBatch& batch);

  int64_t steps_done() const { return steps_done_; }
  CompactNetwork& network() { return *network_; }

  // Network, optimizer state and step count, in LibTorch's archive format (written atomically).
  void save_checkpoint(const std::string& path) const;
  // Restores a checkpoint written by save_checkpoint for the same width, depth and scale; throws Error otherwise.
  void load_checkpoint(const std::string& path);

  // The weights as a .safetensors file, in float16 when `half`, with `metadata` in "__metadata__".
  void export_model(const std::string& path, bool half, const std::map<std::string, std::string>& metadata) const;

 private:
  torch::Tensor shape_tensor() const;

  TrainOptions options_;
  std::shared_ptr<CompactNetwork> network_;
  std::unique_ptr<torch::optim::Adam> optimizer_;
  int64_t steps_done_ = 0;
};

}  // namespace uprez::train
