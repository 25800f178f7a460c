// The trainer: the loss goes down on a tiny synthetic batch, checkpoints resume exactly, and the exported file
// loads through uprez's readers as a Compact x4 model with the recipe in its metadata.
#include "nn/any_dtype.h"
#include "trainer.h"

#include <fstream>

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "arch/architecture.h"
#include "core/error.h"
#include "image/image_tensor.h"
#include "io/model_file.h"
#include "support/fixtures.h"
#include "support/test_assets.h"

namespace uprez::train {
namespace trainer_test {

TrainOptions tiny_network() {
  TrainOptions options;
  options.features = 8;
  options.convs = 2;
  options.steps = 40;
  options.learning_rate = 5e-3;
  options.edge_weight = 0.1;
  return options;
}

PatchBatch synthetic_batch(int64_t index) {
  SamplerOptions options;
  options.patch_size = 32;
  options.batch_size = 4;
  const torch::Tensor image =
      (image_to_tensor(test::synthetic_image(96, 96, 3, 8), 0, 3)[0] * 255).round().to(torch::kUInt8);
  return PatchSampler({image}, options).batch(index);
}

// The "__metadata__" object of a safetensors file.
nlohmann::json safetensors_metadata(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  uint64_t length = 0;
  file.read(reinterpret_cast<char*>(&length), sizeof length);
  std::string header(length, '\0');
  file.read(header.data(), static_cast<std::streamsize>(length));
  return nlohmann::json::parse(header).at("__metadata__");
}

// Training starts at the nearest-neighbour upscale (the last convolution is zero) and must beat it: a network
// whose features die early stalls exactly there.
TEST(Trainer, LossGoesDownOnATinySyntheticBatch) {
  torch::set_num_threads(1);
  TrainOptions options = tiny_network();
  options.edge_weight = 0;  // plain L1, comparable with the nearest-neighbour upscale's
  options.steps = 100;
  Trainer trainer(options);
  const PatchBatch batch = synthetic_batch(0);
  const double nearest = (upscale_nearest(batch.lr, options.scale) - batch.hr).abs().mean().item<double>();
  const double first = trainer.step(batch);
  EXPECT_NEAR(first, nearest, 1e-6);
  double last = first;
  for (int i = 1; i < 100; ++i) last = trainer.step(batch);
  EXPECT_EQ(trainer.steps_done(), 100);
  EXPECT_LT(last, 0.8 * first) << "first " << first << ", last " << last;
}

TEST(Trainer, LearningRateDecaysAlongACosine) {
  TrainOptions options = tiny_network();
  options.steps = 101;
  EXPECT_DOUBLE_EQ(cosine_learning_rate(options, 0), options.learning_rate);
  EXPECT_NEAR(cosine_learning_rate(options, 50), (options.learning_rate + options.min_learning_rate) / 2, 1e-12);
  EXPECT_NEAR(cosine_learning_rate(options, 100), options.min_learning_rate, 1e-12);
}

TEST(Trainer, EdgeTermAddsTheGradientDifferences) {
  const torch::Tensor target = torch::zeros({1, 1, 2, 2});
  const torch::Tensor output = torch::tensor({0.0f, 1.0f, 0.0f, 1.0f}).view({1, 1, 2, 2});
  EXPECT_NEAR(reconstruction_loss(output, target, 0.0).item<double>(), 0.5, 1e-7);
  // Horizontal differences are both 1, vertical ones 0: 0.5 + 0.2 * (1 + 0).
  EXPECT_NEAR(reconstruction_loss(output, target, 0.2).item<double>(), 0.7, 1e-7);
}

TEST(Trainer, ResumingFromACheckpointContinuesExactly) {
  torch::set_num_threads(1);
  const std::string checkpoint = test::temp_dir() + "/run.ckpt";
  Trainer straight(tiny_network());
  for (int64_t i = 0; i < 2; ++i) straight.step(synthetic_batch(i));
  straight.save_checkpoint(checkpoint);
  for (int64_t i = 2; i < 4; ++i) straight.step(synthetic_batch(i));

  TrainOptions other_seed = tiny_network();
  other_seed.seed = 99;  // the checkpoint replaces the initial weights
  Trainer resumed(other_seed);
  resumed.load_checkpoint(checkpoint);
  EXPECT_EQ(resumed.steps_done(), 2);
  for (int64_t i = resumed.steps_done(); i < 4; ++i) resumed.step(synthetic_batch(i));
  const auto expected = straight.network().named_parameters();
  for (const auto& parameter : resumed.network().named_parameters())
    EXPECT_TRUE(torch::equal(parameter.value(), expected[parameter.key()])) << parameter.key();

  TrainOptions wider = tiny_network();
  wider.features = 16;
  Trainer mismatched(wider);
  EXPECT_THROW(mismatched.load_checkpoint(checkpoint), Error);
}

TEST(Trainer, ExportLoadsAsCompactX4WithTheRecipe) {
  torch::set_num_threads(1);
  Trainer trainer(tiny_network());
  trainer.step(synthetic_batch(0));
  const std::string dir = test::temp_dir();
  for (const bool half : {false, true}) {
    const std::string path = dir + (half ? "/model-fp16.safetensors" : "/model.safetensors");
    trainer.export_model(path, half, {{"format", "pt"}, {"uprez.recipe", R"({"steps":1})"}});
    const StateDict state = load_state_dict(path);
    EXPECT_EQ(state.at("body.0.weight").scalar_type(), half ? torch::kFloat16 : torch::kFloat32);
    Model model = load_model(state, path);
    EXPECT_EQ(model.info.architecture_id, "Compact");
    EXPECT_EQ(model.info.scale, 4);
    EXPECT_EQ(model.info.hyperparameters.at("num_feat"), 8);
    EXPECT_EQ(model.info.hyperparameters.at("num_conv"), 2);
    EXPECT_EQ(nlohmann::json::parse(safetensors_metadata(path).at("uprez.recipe").get<std::string>()).at("steps"), 1);

    const torch::Tensor input = synthetic_batch(1).lr.narrow(0, 0, 1);
    torch::Tensor expected;
    {
      torch::NoGradGuard no_grad;
      trainer.network().eval();
      expected = trainer.network().forward(input).clamp(0, 1);
    }
    EXPECT_LT((model(input) - expected).abs().max().item<float>(), half ? 2e-3f : 1e-6f);
  }
}

}  // namespace trainer_test
}  // namespace uprez::train
