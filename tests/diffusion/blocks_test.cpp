// The diffusion blocks against plain LibTorch computations of diffusers' formulas: chunked attention, resnet,
// attention (self, cross, VAE form), GEGLU feed-forward, timestep features, up/downsampling, and the UNet on sizes
// that are not multiples of 8.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "diffusion/blocks/attention.h"
#include "diffusion/blocks/downsample.h"
#include "diffusion/blocks/feed_forward.h"
#include "diffusion/blocks/resnet_block.h"
#include "diffusion/blocks/timestep_embedding.h"
#include "diffusion/blocks/upsample.h"
#include "diffusion/unet/unet_2d_condition.h"
#include "nn/chunked_attention.h"

namespace uprez::blocks_test {

namespace F = torch::nn::functional;

torch::Tensor plain_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, double scale,
                              const torch::Tensor& mask = {}) {
  torch::Tensor s = torch::matmul(q, k.transpose(-2, -1)) * scale;
  if (mask.defined()) s = s + mask;
  return torch::matmul(s.softmax(-1), v);
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

void randomize(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& p : module.parameters()) p.normal_(0, 0.3);
}

TEST(ChunkedAttention, EqualsPlainAttentionWhateverTheChunks) {
  torch::manual_seed(1);
  const torch::Tensor q = torch::randn({2, 3, 300, 16}), k = torch::randn({2, 3, 257, 16}), v = torch::randn({2, 3, 257, 8});
  const torch::Tensor reference = plain_attention(q, k, v, 0.25);
  // Whole matrix, row chunks only, and row + key chunks with the running maximum and sum.
  for (int64_t bytes : {int64_t{1} << 30, int64_t{4} * 2 * 3 * 257 * 100, int64_t{4} * 2 * 3 * 64 * 70}) {
    const torch::Tensor out = chunked_attention(q, k, v, 0.25, {}, bytes);
    EXPECT_LT(max_diff(out, reference), 1e-5) << bytes;
  }
}

TEST(ChunkedAttention, CausalMaskAcrossKeyChunks) {
  torch::manual_seed(2);
  const torch::Tensor q = torch::randn({1, 2, 150, 8}), k = torch::randn({1, 2, 150, 8}), v = torch::randn({1, 2, 150, 8});
  const torch::Tensor mask = torch::full({150, 150}, std::numeric_limits<float>::lowest()).triu_(1);
  const torch::Tensor reference = plain_attention(q, k, v, 0.3, mask);
  const torch::Tensor out = chunked_attention(q, k, v, 0.3, mask, 4 * 2 * 64 * 64);
  EXPECT_LT(max_diff(out, reference), 1e-5);
}

TEST(ChunkedAttention, ExtremeScoresStayFinite) {
  const torch::Tensor q = torch::randn({1, 1, 200, 4}) * 100, k = torch::randn({1, 1, 200, 4}) * 100;
  const torch::Tensor v = torch::randn({1, 1, 200, 4});
  const torch::Tensor out = chunked_attention(q, k, v, 1.0, {}, 4 * 64 * 64);
  EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
  EXPECT_LT(max_diff(out, plain_attention(q, k, v, 1.0)), 1e-4);
}

TEST(DiffusionBlocks, ResnetBlockMatchesTheFormula) {
  torch::InferenceMode guard;
  torch::manual_seed(3);
  ResnetBlock2D block(ResnetBlockOptions{8, 16, 12, 4, 1e-5});
  randomize(*block);
  const torch::Tensor x = torch::randn({2, 8, 9, 7}), temb = torch::randn({2, 12});
  torch::Tensor h = F::silu(F::group_norm(x, F::GroupNormFuncOptions(4).weight(block->norm1->weight).bias(block->norm1->bias).eps(1e-5)));
  h = F::conv2d(h, block->conv1->weight, F::Conv2dFuncOptions().bias(block->conv1->bias).padding(1));
  h = h + F::linear(F::silu(temb), block->time_emb_proj->weight, block->time_emb_proj->bias).view({2, 16, 1, 1});
  h = F::silu(F::group_norm(h, F::GroupNormFuncOptions(4).weight(block->norm2->weight).bias(block->norm2->bias).eps(1e-5)));
  h = F::conv2d(h, block->conv2->weight, F::Conv2dFuncOptions().bias(block->conv2->bias).padding(1));
  const torch::Tensor shortcut = F::conv2d(x, block->conv_shortcut->weight, F::Conv2dFuncOptions().bias(block->conv_shortcut->bias));
  EXPECT_LT(max_diff(block->forward(x, temb), shortcut + h), 1e-4);
}

torch::Tensor heads(const torch::Tensor& x, int64_t n) { return x.view({x.size(0), x.size(1), n, -1}).transpose(1, 2); }

TEST(DiffusionBlocks, CrossAttentionMatchesTheFormula) {
  torch::InferenceMode guard;
  torch::manual_seed(4);
  AttentionOptions o;
  o.query_dim = 16;
  o.cross_attention_dim = 12;
  o.heads = 2;
  o.dim_head = 8;
  Attention attention(o);
  randomize(*attention);
  const torch::Tensor x = torch::randn({2, 10, 16}), context = torch::randn({2, 5, 12});
  const torch::Tensor q = heads(F::linear(x, attention->to_q->weight), 2);
  const torch::Tensor k = heads(F::linear(context, attention->to_k->weight), 2);
  const torch::Tensor v = heads(F::linear(context, attention->to_v->weight), 2);
  const torch::Tensor mixed = plain_attention(q, k, v, 1 / std::sqrt(8.0)).transpose(1, 2).reshape({2, 10, 16});
  auto out = attention->to_out[0]->as<FastLinearImpl>();
  EXPECT_LT(max_diff(attention->forward(x, context), F::linear(mixed, out->weight, out->bias)), 1e-5);
}

TEST(DiffusionBlocks, VaeAttentionNormalisesAndAddsTheInput) {
  torch::InferenceMode guard;
  torch::manual_seed(5);
  AttentionOptions o;
  o.query_dim = 8;
  o.heads = 1;
  o.dim_head = 8;
  o.bias = true;
  o.norm_groups = 2;
  o.eps = 1e-6;
  o.residual_connection = true;
  Attention attention(o);
  randomize(*attention);
  const torch::Tensor x = torch::randn({1, 8, 5, 6});
  const torch::Tensor n = F::group_norm(x, F::GroupNormFuncOptions(2).weight(attention->group_norm->weight).bias(attention->group_norm->bias).eps(1e-6));
  const torch::Tensor t = n.view({1, 8, 30}).transpose(1, 2);
  const torch::Tensor q = F::linear(t, attention->to_q->weight, attention->to_q->bias);
  const torch::Tensor k = F::linear(t, attention->to_k->weight, attention->to_k->bias);
  const torch::Tensor v = F::linear(t, attention->to_v->weight, attention->to_v->bias);
  auto out = attention->to_out[0]->as<FastLinearImpl>();
  const torch::Tensor y = F::linear(plain_attention(q, k, v, 1 / std::sqrt(8.0)), out->weight, out->bias);
  EXPECT_LT(max_diff(attention->forward(x), y.transpose(1, 2).reshape({1, 8, 5, 6}) + x), 1e-5);
}

TEST(DiffusionBlocks, GegluFeedForward) {
  torch::InferenceMode guard;
  torch::manual_seed(6);
  FeedForward ff(8);
  randomize(*ff);
  const torch::Tensor x = torch::randn({2, 3, 8});
  auto geglu = ff->net[0]->as<GegluImpl>();
  auto out = ff->net[2]->as<FastLinearImpl>();
  const torch::Tensor p = F::linear(x, geglu->proj->weight, geglu->proj->bias);
  const torch::Tensor hidden = p.narrow(-1, 0, 32) * F::gelu(p.narrow(-1, 32, 32));
  EXPECT_LT(max_diff(ff->forward(x), F::linear(hidden, out->weight, out->bias)), 1e-5);
}

TEST(DiffusionBlocks, GegluFeedForwardInTokenChunks) {
  torch::InferenceMode guard;
  torch::manual_seed(8);
  FeedForward ff(8);
  randomize(*ff);
  const torch::Tensor x = torch::randn({2, 150001, 8});  // 300,002 tokens: more than one 64 MiB chunk of 2 x 32
  auto geglu = ff->net[0]->as<GegluImpl>();
  auto out = ff->net[2]->as<FastLinearImpl>();
  const torch::Tensor p = F::linear(x, geglu->proj->weight, geglu->proj->bias);
  const torch::Tensor hidden = p.narrow(-1, 0, 32) * F::gelu(p.narrow(-1, 32, 32));
  const torch::Tensor y = ff->forward(x);
  EXPECT_EQ(y.sizes(), x.sizes());
  EXPECT_LT(max_diff(y, F::linear(hidden, out->weight, out->bias)), 1e-5);
}

TEST(DiffusionBlocks, TimestepFeaturesFollowDiffusers) {
  const torch::Tensor t = torch::tensor({0.0f, 1.0f, 999.0f});
  const torch::Tensor emb = timestep_features(t, 7, true, 1);
  ASSERT_EQ(emb.sizes(), (std::vector<int64_t>{3, 7}));
  for (int64_t i = 0; i < 3; ++i) {
    const double frequency = std::exp(-std::log(10000.0) * i / (3 - 1));
    EXPECT_NEAR(emb[2][i].item<double>(), std::cos(999.0 * frequency), 2e-3);  // flipped: cos first
    EXPECT_NEAR(emb[2][3 + i].item<double>(), std::sin(999.0 * frequency), 2e-3);
  }
  EXPECT_EQ(emb[1][6].item<float>(), 0.0f);  // odd width: zero-padded
}

TEST(DiffusionBlocks, SamplersKeepDiffusersGeometry) {
  torch::InferenceMode guard;
  Downsample2D unet_down(4, 4, 1), vae_down(4, 4, 0);
  Upsample2D up(4, 4);
  const torch::Tensor x = torch::randn({1, 4, 9, 7});
  EXPECT_EQ(unet_down->forward(x).sizes(), (std::vector<int64_t>{1, 4, 5, 4}));
  EXPECT_EQ(vae_down->forward(x).sizes(), (std::vector<int64_t>{1, 4, 4, 3}));
  EXPECT_EQ(up->forward(x).sizes(), (std::vector<int64_t>{1, 4, 18, 14}));
  EXPECT_EQ(up->forward(x, {17, 13}).sizes(), (std::vector<int64_t>{1, 4, 17, 13}));
}

TEST(DiffusionBlocks, UNetTakesAnyInputSize) {
  torch::InferenceMode guard;
  nlohmann::json c = {{"in_channels", 7}, {"out_channels", 4}, {"block_out_channels", {8, 16, 16}},
                      {"down_block_types", {"DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"}},
                      {"up_block_types", {"CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"}},
                      {"layers_per_block", 1}, {"attention_head_dim", 2}, {"cross_attention_dim", 6},
                      {"norm_num_groups", 4}, {"num_class_embeds", 10}, {"use_linear_projection", true}};
  UNet2DCondition unet(UNetConfig::read(JsonConfig(c, "test")));
  for (auto [h, w] : {std::pair<int64_t, int64_t>{13, 17}, {1, 1}, {4, 9}}) {
    const torch::Tensor out = unet->forward(torch::randn({2, 7, h, w}), torch::tensor({10}), torch::randn({2, 3, 6}),
                                            torch::tensor({1, 2}));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 4, h, w}));
  }
}

}  // namespace uprez::blocks_test
