// The VAE on the fixture model's weights: the decoder against diffusers' recorded decode, tiled decoding against the
// whole-image decode (PSNR, and no step at the tile borders), slicing, and the posterior encoder's shape.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "diffusion/model/model_folder.h"
#include "diffusion/vae/autoencoder_kl.h"
#include "io/npy.h"
#include "support/fixtures.h"

namespace uprez::vae_test {

std::string model_dir() { return test::fixtures_root() + "/diffusion/models/x4_tiny"; }
std::string case_dir() { return test::fixtures_root() + "/diffusion/cases/x4_cfg6_neg_nl50_24x16"; }

// The fixture VAE, with tiles of `tile_latents` latents when > 0.
AutoencoderKL fixture_vae(int64_t tile_latents = 0) {
  const ModelFolder folder = ModelFolder::open({model_dir(), "", ""});
  VaeConfig config = VaeConfig::read(folder.config("vae"));
  if (tile_latents > 0) config.sample_size = tile_latents * config.scale_factor();
  return load_autoencoder_kl(config, folder.weights("vae"), "vae");
}

double psnr(const torch::Tensor& a, const torch::Tensor& b, double range) {
  const double mse = (a - b).pow(2).mean().item<double>();
  return 10 * std::log10(range * range / mse);
}

// Mean absolute step between neighbouring columns at `columns`, relative to the mean step everywhere.
double border_step_ratio(const torch::Tensor& image, const std::vector<int64_t>& columns) {
  const torch::Tensor steps = (image.narrow(3, 1, image.size(3) - 1) - image.narrow(3, 0, image.size(3) - 1)).abs();
  double at_borders = 0;
  for (int64_t c : columns) at_borders += steps.select(3, c - 1).mean().item<double>();
  return at_borders / columns.size() / steps.mean().item<double>();
}

TEST(Vae, DecoderMatchesDiffusers) {
  UPREZ_REQUIRE_PATH(case_dir());
  torch::InferenceMode guard;
  const torch::Tensor latents = read_npy(case_dir() + "/final_latents.npy");
  const torch::Tensor decoded = fixture_vae()->decode(latents / 0.08333);
  const torch::Tensor reference = read_npy(case_dir() + "/vae_decode_output.npy");
  EXPECT_LT((decoded - reference).abs().max().item<double>(), 1e-4);
}

TEST(Vae, TiledDecodeIsCloseAndSeamless) {
  UPREZ_REQUIRE_PATH(case_dir());
  torch::InferenceMode guard;
  // 16 x 24 latents in tiles of 8 (overlap 6, blend 8 px, 24 px kept per tile): 3 x 4 tiles.
  const torch::Tensor latents = read_npy(case_dir() + "/final_latents.npy") / 0.08333;
  const torch::Tensor whole = fixture_vae()->decode(latents);
  const torch::Tensor tiled = fixture_vae(8)->decode(latents, {false, true});
  ASSERT_EQ(tiled.sizes(), whole.sizes());
  const double quality = psnr(tiled, whole, 2.0);
  std::cout << "tiled vs whole PSNR " << quality << " dB" << std::endl;
  // Each tile normalises with its own statistics (as diffusers' tiled_decode): with tiles this small (32 px) on
  // random weights the difference is largest; measured 24.4 dB.
  EXPECT_GT(quality, 22.0);
  const double whole_ratio = border_step_ratio(whole, {24, 48, 72});
  const double tiled_ratio = border_step_ratio(tiled, {24, 48, 72});
  std::cout << "step at tile borders / mean step: whole " << whole_ratio << ", tiled " << tiled_ratio << std::endl;
  EXPECT_LT(tiled_ratio, whole_ratio * 1.25 + 0.05);
}

TEST(Vae, SlicingDecodesEachImageAlone) {
  UPREZ_REQUIRE_PATH(case_dir());
  torch::InferenceMode guard;
  AutoencoderKL vae = fixture_vae();
  const torch::Tensor latents = torch::randn({2, 4, 6, 5});
  const torch::Tensor batched = vae->decode(latents);
  const torch::Tensor sliced = vae->decode(latents, {true, false});
  EXPECT_LT((batched - sliced).abs().max().item<double>(), 1e-5);
}

TEST(Vae, EncoderGivesMeanAndLogVariance) {
  UPREZ_REQUIRE_PATH(model_dir());
  torch::InferenceMode guard;
  const torch::Tensor moments = fixture_vae()->encode_moments(torch::rand({1, 3, 20, 12}) * 2 - 1);
  EXPECT_EQ(moments.sizes(), (std::vector<int64_t>{1, 8, 5, 3}));
  EXPECT_TRUE(torch::isfinite(moments).all().item<bool>());
}

}  // namespace uprez::vae_test
