// The x4 pipeline on the fixture model: seeded draws are torch.Generator('cpu').manual_seed's, prompts are encoded
// once, bfloat16 stays close to float32, tiling and slicing change nothing they should not, and every request
// error is one line.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "core/error.h"
#include "diffusion/model/model_folder.h"
#include "diffusion/noise_source.h"
#include "diffusion/pipelines/upscale_x4.h"
#include "image/image.h"
#include "support/error_message.h"
#include "support/fixtures.h"

namespace uprez::upscale_x4_test {

std::string model_dir() { return test::fixtures_root() + "/diffusion/models/x4_tiny"; }

X4UpscalePipeline pipeline(torch::Dtype dtype = torch::kFloat32) {
  DiffusionRuntime runtime;
  runtime.dtype = dtype;
  return X4UpscalePipeline::load(ModelFolder::open({model_dir(), "", ""}), runtime);
}

X4Request request() {
  X4Request r;
  torch::manual_seed(7);
  r.image = torch::rand({1, 3, 12, 16}) * 2 - 1;
  r.prompts = {"a cat"};
  r.steps = 2;
  r.guidance_scale = 5;
  return r;
}

TEST(SeededNoise, DrawsWhatTorchGeneratorDraws) {
  // torch.randn(3, generator=torch.Generator('cpu').manual_seed(0)) = [1.5410, -0.2934, -2.1788]
  SeededNoise noise(0);
  const torch::Tensor draw = noise.randn({3}, "test");
  EXPECT_NEAR(draw[0].item<double>(), 1.5410, 1e-4);
  EXPECT_NEAR(draw[1].item<double>(), -0.2934, 1e-4);
  EXPECT_NEAR(draw[2].item<double>(), -2.1788, 1e-4);
}

TEST(RecordedNoise, RefusesDrawsOfAnotherShapeOrRole) {
  RecordedNoise noise({torch::zeros({2})}, {"low_res_noise"});
  EXPECT_NE(test::error_message_of([&] { noise.randn({3}, "low_res_noise"); }).find("shape"), std::string::npos);
  EXPECT_NE(test::error_message_of([&] { noise.randn({2}, "initial_latents"); }).find("low_res_noise"), std::string::npos);
  RecordedNoise empty({});
  EXPECT_NE(test::error_message_of([&] { empty.randn({2}, "x"); }).find("not recorded"), std::string::npos);
}

TEST(UpscaleX4, SameSeedSameImageAndPreparedPromptsChangeNothing) {
  UPREZ_REQUIRE_PATH(model_dir());
  X4UpscalePipeline p = pipeline();
  SeededNoise first(3), second(3);
  const torch::Tensor a = p.run(request(), first);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{1, 3, 48, 64}));
  p.prepare_prompts({"a cat", ""});
  const torch::Tensor b = p.run(request(), second);
  EXPECT_TRUE(torch::equal(a, b));
  SeededNoise other(4);
  EXPECT_FALSE(torch::equal(a, p.run(request(), other)));
}

TEST(UpscaleX4, Bfloat16StaysCloseToFloat32) {
  UPREZ_REQUIRE_PATH(model_dir());
  SeededNoise first(5), second(5);
  const torch::Tensor f32 = pipeline().run(request(), first);
  const torch::Tensor bf16 = pipeline(torch::kBFloat16).run(request(), second);
  const double mse = (f32 - bf16).pow(2).mean().item<double>();
  const double psnr = 10 * std::log10(1.0 / mse);
  std::cout << "bfloat16 vs float32 PSNR " << psnr << " dB" << std::endl;
  EXPECT_GT(psnr, 25.0);
}

TEST(UpscaleX4, BatchOfImagesPerPromptAndSlicing) {
  UPREZ_REQUIRE_PATH(model_dir());
  X4UpscalePipeline p = pipeline();
  X4Request r = request();
  r.images_per_prompt = 2;
  SeededNoise first(6), second(6);
  const torch::Tensor batched = p.run(r, first);
  EXPECT_EQ(batched.size(0), 2);
  p.set_vae_options({true, false});
  EXPECT_LT((p.run(r, second) - batched).abs().max().item<double>(), 1e-5);
}

TEST(UpscaleX4, UNetCallsSplitByMemoryBudgetGiveTheSameImage) {
  UPREZ_REQUIRE_PATH(model_dir());
  SeededNoise first(9), second(9);
  const torch::Tensor whole = pipeline().run(request(), first);
  DiffusionRuntime runtime;
  runtime.unet_map_budget = 1;  // one batch entry per UNet call
  X4UpscalePipeline split = X4UpscalePipeline::load(ModelFolder::open({model_dir(), "", ""}), runtime);
  EXPECT_LT((split.run(request(), second) - whole).abs().max().item<double>(), 1e-5);
}

TEST(UpscaleX4, RequestErrorsAreOneLine) {
  UPREZ_REQUIRE_PATH(model_dir());
  X4UpscalePipeline p = pipeline();
  SeededNoise noise(1);
  X4Request r = request();
  r.noise_level = 351;
  EXPECT_EQ(test::error_message_of([&] { p.run(r, noise); }),
            "noise level 351 is outside [0, 350] (the model's max_noise_level)");
  r.noise_level = -1;
  EXPECT_NE(test::error_message_of([&] { p.run(r, noise); }).find("outside"), std::string::npos);
  r = request();
  r.prompts = {"a", "b", "c"};
  EXPECT_EQ(test::error_message_of([&] { p.run(r, noise); }), "prompts: 3 given for a batch of 1 images");
}

TEST(UpscaleX4, RefusesAnotherPipelinesFolder) {
  const std::string x2 = test::fixtures_root() + "/diffusion/models/x2_tiny";
  UPREZ_REQUIRE_PATH(x2);
  const std::string message =
      test::error_message_of([&] { X4UpscalePipeline::load(ModelFolder::open({x2, "", ""}), {}); });
  EXPECT_NE(message.find("not StableDiffusionUpscalePipeline"), std::string::npos) << message;
}

TEST(UpscaleX4, PreprocessFloorsToTheMultiple) {
  Image image(18, 11, 4, 8);
  const torch::Tensor t = preprocess_x4_image(image, 4);
  EXPECT_EQ(t.sizes(), (std::vector<int64_t>{1, 3, 8, 16}));
  EXPECT_EQ(t.min().item<float>(), -1.0f);
  EXPECT_NE(test::error_message_of([] { preprocess_x4_image(Image(3, 9, 3, 8), 4); }).find("smaller"),
            std::string::npos);
}

}  // namespace uprez::upscale_x4_test
