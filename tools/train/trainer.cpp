#include "trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "io/safetensors_writer.h"

namespace uprez::train {

namespace trainer {

constexpr double kPi = 3.14159265358979323846;

torch::Tensor l1(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().mean(); }

torch::Tensor horizontal_difference(const torch::Tensor& x) { return x.slice(3, 1) - x.slice(3, 0, -1); }
torch::Tensor vertical_difference(const torch::Tensor& x) { return x.slice(2, 1) - x.slice(2, 0, -1); }

}  // namespace trainer

torch::Tensor reconstruction_loss(const torch::Tensor& output, const torch::Tensor& target, double edge_weight) {
  torch::Tensor loss = trainer::l1(output, target);
  if (edge_weight > 0.0)
    loss = loss + edge_weight * (trainer::l1(trainer::horizontal_difference(output), trainer::horizontal_difference(target)) +
                                 trainer::l1(trainer::vertical_difference(output), trainer::vertical_difference(target)));
  return loss;
}

double cosine_learning_rate(const TrainOptions& options, int64_t step) {
  const double progress = options.steps > 1 ? static_cast<double>(step) / static_cast<double>(options.steps - 1) : 0.0;
  return options.min_learning_rate +
         0.5 * (options.learning_rate - options.min_learning_rate) * (1.0 + std::cos(trainer::kPi * std::min(progress, 1.0)));
}

Trainer::Trainer(const TrainOptions& options) : options_(options) {
  if (options.features < 1 || options.convs < 0 || options.scale < 1)
    throw Error("network shape: features >= 1, convs >= 0 and scale >= 1 are required");
  torch::manual_seed(options.seed);
  CompactOptions shape;
  shape.num_feat = options.features;
  shape.num_conv = options.convs;
  shape.upscale = options.scale;
  network_ = std::make_shared<CompactNetwork>(shape);
  {
    // He initialisation for the activation's initial negative slope keeps the features' variance constant with
    // depth (LibTorch's default, kaiming_uniform(a = sqrt(5)), shrinks it threefold per layer, so that 8 layers
    // in the features are ~1e-3). The last convolution starts at zero: training starts exactly at the
    // nearest-neighbour upscale with live features. (With a random last convolution, the first steps shrink the
    // random residual by killing the features, and training stalls at the nearest-neighbour upscale.)
    torch::NoGradGuard no_grad;
    const std::string last = "body." + std::to_string(2 * options.convs + 2);
    const auto parameters = network_->named_parameters();
    const double negative_slope = parameters["body.1.weight"].mean().item<double>();
    for (const auto& parameter : parameters) {
      torch::Tensor value = parameter.value();
      if (value.dim() == 4)
        torch::nn::init::kaiming_normal_(value, negative_slope, torch::kFanIn, torch::kLeakyReLU);
      else if (parameter.key().size() > 5 && parameter.key().substr(parameter.key().size() - 5) == ".bias")
        value.zero_();
    }
    parameters[last + ".weight"].zero_();
  }
  optimizer_ = std::make_unique<torch::optim::Adam>(
      network_->parameters(), torch::optim::AdamOptions(options.learning_rate).betas({0.9, 0.99}));
}

double Trainer::step(const PatchBatch& batch) {
  const double learning_rate = cosine_learning_rate(options_, steps_done_);
  for (torch::optim::OptimizerParamGroup& group : optimizer_->param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(learning_rate);
  network_->train();
  optimizer_->zero_grad();
  const torch::Tensor loss = reconstruction_loss(network_->forward(batch.lr), batch.hr, options_.edge_weight);
  loss.backward();
  optimizer_->step();
  ++steps_done_;
  return loss.item<double>();
}

torch::Tensor Trainer::shape_tensor() const {
  return torch::tensor({int64_t{options_.features}, int64_t{options_.convs}, int64_t{options_.scale}});
}

void Trainer::save_checkpoint(const std::string& path) const {
  torch::serialize::OutputArchive archive, network, optimizer;
  network_->save(network);
  optimizer_->save(optimizer);
  archive.write("network", network);
  archive.write("optimizer", optimizer);
  archive.write("shape", shape_tensor());
  archive.write("steps_done", torch::tensor(steps_done_));
  const std::string temporary = path + ".tmp";
  archive.save_to(temporary);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw Error(path + ": cannot write the checkpoint");
  }
}

void Trainer::load_checkpoint(const std::string& path) {
  torch::serialize::InputArchive archive, network, optimizer;
  archive.load_from(path);
  torch::Tensor shape, steps_done;
  archive.read("shape", shape);
  if (!torch::equal(shape, shape_tensor()))
    throw Error(path + ": the checkpoint is for another network (features, convs, scale)");
  archive.read("network", network);
  archive.read("optimizer", optimizer);
  archive.read("steps_done", steps_done);
  network_->load(network);  // parameters are updated in place, so the optimizer's state still refers to them
  optimizer_->load(optimizer);
  steps_done_ = steps_done.item<int64_t>();
}

void Trainer::export_model(const std::string& path, bool half,
                           const std::map<std::string, std::string>& metadata) const {
  NamedTensors tensors;
  for (const auto& parameter : network_->named_parameters())
    tensors.emplace_back(parameter.key(), parameter.value().detach().to(half ? torch::kFloat16 : torch::kFloat32));
  write_safetensors(path, tensors, metadata);
}

}  // namespace uprez::train
