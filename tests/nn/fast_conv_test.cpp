#include "nn/fast_conv.h"

#include <gtest/gtest.h>

#include <array>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "nn/onednn.h"

namespace uprez {
namespace fast_conv_test {

namespace F = torch::nn::functional;

double max_error(const torch::Tensor& actual, const torch::Tensor& expected) {
  return (actual.to(torch::kDouble) - expected.to(torch::kDouble)).abs().max().item<double>();
}

// 1e-4 of the reference's magnitude (at least 1e-4): Winograd rounds differently from a direct convolution.
void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, const std::string& what) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  const double scale = std::max(1.0, expected.abs().max().item<double>());
  EXPECT_LE(max_error(actual, expected), 1e-4 * scale) << what;
}

torch::Tensor reference(FastConv2d& conv, const torch::Tensor& x) {
  const auto& o = conv->options;
  return torch::conv2d(x, conv->weight, conv->bias, *o.stride(), *c10::get_if<torch::ExpandingArray<2>>(&o.padding()),
                       *o.dilation(), o.groups());
}

// What the CPU and UPREZ_FAST_CONV allow (ctest runs these tests once per algorithm, and with oneDNN held to AVX2):
// oneDNN's Winograd and its direct kernels for blocked maps need AVX-512 in oneDNN 2.6.
bool onednn_runs() { return fast_conv_enabled() && onednn::has_avx512_core(); }
bool winograd_runs() { return onednn_runs() && ConvOptions::defaults().winograd; }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

ConvOptions with(bool winograd, bool sgemm) {
  ConvOptions options;
  options.winograd = winograd;
  options.sgemm = sgemm;
  return options;
}

struct Geometry {
  int64_t in, out, kernel, stride, padding, groups, dilation;
};

std::string describe(const Geometry& g, int64_t batch, int64_t h, int64_t w) {
  return "in " + std::to_string(g.in) + " out " + std::to_string(g.out) + " k" + std::to_string(g.kernel) + " s" +
         std::to_string(g.stride) + " p" + std::to_string(g.padding) + " g" + std::to_string(g.groups) + " d" +
         std::to_string(g.dilation) + " input " + std::to_string(batch) + "x" + std::to_string(h) + "x" +
         std::to_string(w);
}

TEST(FastConv2d, MatchesTorchConv2d) {
  torch::NoGradGuard no_grad;
  const std::vector<Geometry> geometries = {
      {32, 48, 3, 1, 1, 1, 1}, {32, 48, 1, 1, 0, 1, 1}, {32, 48, 3, 2, 1, 1, 1}, {16, 16, 3, 1, 0, 1, 1},
      {32, 32, 3, 1, 2, 1, 2}, {32, 32, 3, 1, 1, 2, 1}, {32, 32, 3, 1, 1, 32, 1}, {3, 64, 3, 1, 1, 1, 1},
      {64, 3, 3, 1, 1, 1, 1},  {20, 28, 3, 1, 1, 1, 1}, {64, 64, 3, 1, 1, 1, 1}, {24, 40, 5, 2, 2, 4, 1},
      {16, 16, 3, 2, 0, 1, 1}, {16, 32, 1, 2, 0, 1, 1},
  };
  struct Size {
    int64_t batch, height, width;
  };
  const std::vector<Size> sizes = {{1, 1, 1}, {1, 7, 5}, {1, 33, 17}, {2, 33, 17}, {1, 40, 40}};
  torch::manual_seed(1);
  std::set<std::string> implementations;
  for (const Geometry& g : geometries) {
    FastConv2d conv(g.in, g.out, g.kernel, g.stride, g.padding, true, g.groups, g.dilation);
    for (const Size& s : sizes) {
      const int64_t span = g.dilation * (g.kernel - 1) + 1;
      if (s.height + 2 * g.padding < span || s.width + 2 * g.padding < span) continue;
      const std::string what = describe(g, s.batch, s.height, s.width);
      const torch::Tensor x = torch::randn({s.batch, g.in, s.height, s.width});
      const torch::Tensor expected = reference(conv, x);
      expect_close(conv->forward(x), expected, what + " forward");
      expect_close(conv->run(FeatureMap(x)).to_tensor(), expected, what + " run");
      implementations.insert(conv->last_implementation());
      const FeatureMap dense_output = conv->run(FeatureMap::dense(x));
      EXPECT_FALSE(dense_output.blocked()) << what;
      expect_close(dense_output.to_tensor(), expected, what + " run (dense input)");
      const torch::Tensor x_last = x.contiguous(torch::MemoryFormat::ChannelsLast);
      const torch::Tensor y_last = conv->forward(x_last);
      expect_close(y_last, expected, what + " channels_last");
      EXPECT_TRUE(y_last.is_contiguous(torch::MemoryFormat::ChannelsLast) || y_last.size(1) == 1 ||
                  y_last.size(2) * y_last.size(3) == 1)
          << what;
    }
  }
  std::string seen;
  bool winograd = false, direct = false, gemm = false;
  for (const std::string& name : implementations) {
    seen += " " + name;
    winograd = winograd || contains(name, "wino");
    direct = direct || (contains(name, "jit") && !contains(name, "wino"));
    gemm = gemm || name == "im2col+gemm";
  }
  std::cout << "implementations:" << seen << "\n";
  EXPECT_TRUE(implementations.count("torch")) << seen;  // grouped, tiny or unsupported shapes
  EXPECT_EQ(winograd, winograd_runs()) << seen;
  EXPECT_EQ(direct, onednn_runs()) << seen;  // 1x1, strided and grouped convolutions at least
  EXPECT_EQ(gemm, fast_conv_enabled() && ConvOptions::defaults().sgemm) << seen;
}

TEST(FastConv2d, WithoutBias) {
  torch::NoGradGuard no_grad;
  FastConv2d conv(torch::nn::Conv2dOptions(32, 32, 3).padding(1).bias(false));
  EXPECT_FALSE(conv->bias.defined());
  EXPECT_EQ(conv->named_parameters().size(), 1u);
  const torch::Tensor x = torch::randn({1, 32, 24, 24});
  expect_close(conv->forward(x), torch::conv2d(x, conv->weight, {}, 1, 1), "no bias");
  expect_close(conv->run(FeatureMap(x)).to_tensor(), torch::conv2d(x, conv->weight, {}, 1, 1), "no bias run");
}

TEST(FastConv2d, SamePaddingOption) {
  torch::NoGradGuard no_grad;
  FastConv2d conv(torch::nn::Conv2dOptions(16, 16, 4).padding(torch::kSame));
  const torch::Tensor x = torch::randn({1, 16, 9, 10});
  expect_close(conv->run(FeatureMap(x)).to_tensor(), torch::conv2d(x, conv->weight, conv->bias, 1, "same"), "same");
}

TEST(FastConv2d, ParametersMatchTorchConv2d) {
  FastConv2d fast(torch::nn::Conv2dOptions(8, 16, 3).padding(1));
  torch::nn::Conv2d plain(torch::nn::Conv2dOptions(8, 16, 3).padding(1));
  const auto fast_parameters = fast->named_parameters();
  const auto plain_parameters = plain->named_parameters();
  ASSERT_EQ(fast_parameters.size(), plain_parameters.size());
  for (const auto& parameter : plain_parameters) {
    ASSERT_TRUE(fast_parameters.contains(parameter.key())) << parameter.key();
    EXPECT_EQ(fast_parameters[parameter.key()].sizes(), parameter.value().sizes());
  }
  // Usable inside Sequential, like torch::nn::Conv2d (the post-ops argument has a default).
  torch::nn::Sequential sequential(FastConv2d(8, 16, 3, 1, 1));
  torch::NoGradGuard no_grad;
  EXPECT_EQ(sequential->forward(torch::rand({1, 8, 5, 5})).sizes(), (std::vector<int64_t>{1, 16, 5, 5}));
}

TEST(FastConv2d, PostOps) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(2);
  for (const int64_t channels : {64, 24}) {
    for (const int64_t size : {40, 7}) {
      FastConv2d conv(channels, channels, 3, 1, 1);
      const torch::Tensor x = torch::randn({1, channels, size, size});
      const torch::Tensor residual = torch::randn({1, channels, size, size});
      const torch::Tensor slopes = torch::rand({channels});
      const torch::Tensor y = reference(conv, x);
      const std::string what = std::to_string(channels) + " channels, " + std::to_string(size) + " px: ";
      struct Case {
        std::string name;
        PostOps post;
        torch::Tensor expected;
      };
      const std::vector<Case> cases = {
          {"relu", PostOps().relu(), torch::relu(y)},
          {"leaky_relu", PostOps().leaky_relu(0.2), F::leaky_relu(y, F::LeakyReLUFuncOptions().negative_slope(0.2))},
          {"prelu", PostOps().prelu(slopes), torch::prelu(y, slopes)},
          {"prelu shared", PostOps().prelu(slopes.narrow(0, 0, 1)), torch::prelu(y, slopes.narrow(0, 0, 1))},
          {"scale add", PostOps().scale(0.2).add(residual), y * 0.2 + residual},
          {"add alpha", PostOps().add(residual, 0.5), y + 0.5 * residual},
          {"add relu", PostOps().add(residual).relu(), torch::relu(y + residual)},
          {"leaky add", PostOps().leaky_relu(0.2).add(residual),
           F::leaky_relu(y, F::LeakyReLUFuncOptions().negative_slope(0.2)) + residual},
          {"prelu add add", PostOps().prelu(slopes).add(residual).add(x, -1), torch::prelu(y, slopes) + residual - x},
          {"relu scale", PostOps().relu().scale(3), torch::relu(y) * 3},
      };
      for (const Case& c : cases) {
        expect_close(conv->forward(x, c.post), c.expected, what + c.name + " (forward)");
        expect_close(conv->run(FeatureMap(x), c.post).to_tensor(), c.expected, what + c.name + " (run)");
        PostOps with_map;  // the residual given as a blocked map
        for (const auto& op : c.post.ops()) {
          if (op.kind == PostOps::Kind::Add) with_map.add(FeatureMap(op.residual.to_tensor()), op.value);
          if (op.kind == PostOps::Kind::Scale) with_map.scale(op.value);
          if (op.kind == PostOps::Kind::Relu) with_map.relu();
          if (op.kind == PostOps::Kind::LeakyRelu) with_map.leaky_relu(op.value);
          if (op.kind == PostOps::Kind::PRelu) with_map.prelu(op.weight);
        }
        expect_close(conv->run(FeatureMap(x), with_map).to_tensor(), c.expected, what + c.name + " (map residual)");
      }
    }
  }
}

TEST(FastConv2d, ActivationModulesBecomePostOps) {
  torch::NoGradGuard no_grad;
  FastConv2d conv(16, 16, 3, 1, 1);
  const torch::Tensor x = torch::randn({1, 16, 20, 20});
  const torch::Tensor y = reference(conv, x);
  torch::nn::PReLU prelu(torch::nn::PReLUOptions().num_parameters(16).init(0.1));
  torch::nn::LeakyReLU leaky(torch::nn::LeakyReLUOptions().negative_slope(0.2));
  torch::nn::ReLU relu;
  for (const std::shared_ptr<torch::nn::Module>& module :
       std::vector<std::shared_ptr<torch::nn::Module>>{prelu.ptr(), leaky.ptr(), relu.ptr()}) {
    PostOps post;
    ASSERT_TRUE(append_activation(post, *module));
    torch::nn::AnyModule any;
    if (module == prelu.ptr()) any = torch::nn::AnyModule(prelu);
    if (module == leaky.ptr()) any = torch::nn::AnyModule(leaky);
    if (module == relu.ptr()) any = torch::nn::AnyModule(relu);
    expect_close(conv->run(FeatureMap(x), post).to_tensor(), any.forward(y.clone()), module->name());
  }
  PostOps post;
  EXPECT_FALSE(append_activation(post, *torch::nn::SiLU().ptr()));
  EXPECT_TRUE(post.empty());
}

TEST(FastConv2d, UsesWinogradForLargeThreeByThreeWhereTheCpuHasIt) {
  torch::NoGradGuard no_grad;
  FastConv2d conv(64, 64, 3, 1, 1);
  const torch::Tensor x = torch::rand({1, 64, 64, 64});
  const PostOps prelu = PostOps().prelu(torch::full({64}, 0.25));
  const torch::Tensor y = conv->run(FeatureMap(x), prelu, with(true, false)).to_tensor();
  EXPECT_EQ(contains(conv->last_implementation(), "wino"), onednn_runs()) << conv->last_implementation();
  expect_close(y, torch::prelu(reference(conv, x), torch::full({64}, 0.25)), "winograd");
  expect_close(conv->run(FeatureMap(x), prelu, with(false, false)).to_tensor(), y, "direct");
  EXPECT_FALSE(contains(conv->last_implementation(), "wino")) << conv->last_implementation();
  EXPECT_EQ(contains(conv->last_implementation(), "jit"), onednn_runs()) << conv->last_implementation();
}

// A wrong channel count is an error on every path, never a silent miscomputation.
TEST(FastConv2d, RejectsAWrongChannelCountOnEveryPath) {
  torch::NoGradGuard no_grad;
  FastConv2d conv(16, 16, 3, 1, 1);
  const torch::Tensor x = torch::rand({1, 3, 20, 20});
  for (const ConvOptions& options : {with(true, false), with(false, false), with(false, true)}) {
    EXPECT_ANY_THROW(conv->forward_tensor(x, {}, options));
    EXPECT_ANY_THROW(conv->run(FeatureMap(x), {}, options));
  }
}

// The options are per call: two convolutions (or two calls) with different options do not disturb each other.
TEST(FastConv2d, OptionsArePerCall) {
  torch::NoGradGuard no_grad;
  FastConv2d conv(32, 32, 3, 1, 1);
  const FeatureMap x(torch::rand({1, 32, 40, 40}));
  const std::string default_run = (conv->run(x), conv->last_implementation());
  conv->run(x, {}, with(false, true));
  EXPECT_EQ(conv->last_implementation(), fast_conv_enabled() ? "im2col+gemm" : "torch");
  conv->run(x);
  EXPECT_EQ(conv->last_implementation(), default_run);
}

// The im2col + GEMM path (ncnn's sgemm): every ungrouped geometry Winograd does not take (here Winograd is off),
// in bands of rows when the column matrix would be large; grouped convolutions stay on oneDNN.
TEST(FastConv2d, Im2colGemmMatchesTorchConv2d) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(2);
  const ConvOptions sgemm = with(false, true);
  const bool runs = fast_conv_enabled();
  const std::vector<Geometry> geometries = {{32, 48, 1, 1, 0, 1, 1}, {32, 48, 3, 2, 1, 1, 1}, {16, 16, 3, 1, 0, 1, 1},
                                            {32, 32, 3, 1, 2, 1, 2}, {3, 64, 3, 1, 1, 1, 1},  {64, 3, 3, 1, 1, 1, 1},
                                            {24, 40, 5, 2, 2, 1, 1}, {32, 32, 3, 1, 1, 2, 1}};
  for (const Geometry& g : geometries) {
    FastConv2d conv(g.in, g.out, g.kernel, g.stride, g.padding, g.kernel != 1, g.groups, g.dilation);
    for (const auto& [batch, height, width] : std::vector<std::array<int64_t, 3>>{{1, 5, 7}, {2, 33, 17}, {1, 300, 200}}) {
      const std::string what = describe(g, batch, height, width) + " sgemm";
      const torch::Tensor x = torch::randn({batch, g.in, height, width});
      const torch::Tensor expected = reference(conv, x);
      expect_close(conv->forward_tensor(x, PostOps().relu(), sgemm), expected.relu(), what + " forward");
      EXPECT_EQ(conv->last_implementation() == "im2col+gemm", runs && g.groups == 1)
          << what << ": " << conv->last_implementation();
      expect_close(conv->run(FeatureMap(x), {}, sgemm).to_tensor(), expected, what + " run");
      EXPECT_EQ(conv->last_implementation() == "im2col+gemm", runs && g.groups == 1)
          << what << ": " << conv->last_implementation();
    }
  }
}

// oneDNN's Winograd would want a huge scratchpad for 192 -> 64 (ESRGAN's conv5): split along input channels.
TEST(FastConv2d, SplitsLargeWinogradConvolutions) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(6);
  FastConv2d conv(192, 64, 3, 1, 1);
  for (const int64_t batch : {1, 2}) {
    const torch::Tensor x = torch::rand({batch, 192, 128, 128});
    const torch::Tensor residual = torch::randn({batch, 64, 128, 128});
    const torch::Tensor y = reference(conv, x);
    const FeatureMap map(x);
    expect_close(conv->run(map, {}, with(true, false)).to_tensor(), y, "plain");
    if (batch == 1 && onednn_runs()) {
      EXPECT_NE(conv->last_implementation().find("parts"), std::string::npos) << conv->last_implementation();
    }
    expect_close(conv->run(map, PostOps().scale(0.2).add(residual)).to_tensor(), y * 0.2 + residual, "scale add");
    expect_close(conv->run(map, PostOps().leaky_relu(0.2).add(residual, 0.5)).to_tensor(),
                 torch::leaky_relu(y, 0.2) + 0.5 * residual, "leaky add");
    expect_close(conv->run(map, PostOps().add(residual).relu()).to_tensor(), torch::relu(y + residual), "add relu");
  }
}

TEST(FastConv2d, FallsBackToTorchForOtherDtypes) {
  torch::NoGradGuard no_grad;
  FastConv2d conv(16, 16, 3, 1, 1);
  conv->to(torch::kBFloat16);
  const torch::Tensor x = torch::rand({1, 16, 12, 12}).to(torch::kBFloat16);
  const torch::Tensor y = conv->forward(x, PostOps().leaky_relu(0.2));
  EXPECT_EQ(conv->last_implementation(), "torch");
  EXPECT_EQ(y.scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(y.equal(torch::leaky_relu(reference(conv, x), 0.2)));
  const FeatureMap map(x);
  EXPECT_FALSE(map.blocked());
  EXPECT_TRUE(conv->run(map, PostOps().leaky_relu(0.2)).to_tensor().equal(y));
  EXPECT_EQ(conv->last_implementation(), "torch");
}

TEST(FastConv2d, FallsBackToTorchOnCuda) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  torch::NoGradGuard no_grad;
  FastConv2d conv(16, 16, 3, 1, 1);
  conv->to(torch::kCUDA);
  const torch::Tensor x = torch::rand({1, 16, 12, 12}, torch::kCUDA);
  const torch::Tensor y = conv->run(FeatureMap(x), PostOps().relu()).to_tensor();
  EXPECT_EQ(conv->last_implementation(), "torch");
  EXPECT_TRUE(y.is_cuda());
  expect_close(y.cpu(), torch::relu(reference(conv, x)).cpu(), "cuda");
}

TEST(FastConv2d, FallsBackToTorchWithAutograd) {
  FastConv2d conv(16, 16, 3, 1, 1);
  const torch::Tensor x = torch::rand({1, 16, 20, 20});
  const torch::Tensor y = conv->forward(x);
  EXPECT_EQ(conv->last_implementation(), "torch");
  EXPECT_TRUE(y.requires_grad());
}

TEST(FastConv2d, SwitchedOff) {
  torch::NoGradGuard no_grad;
  FastConv2d conv(32, 32, 3, 1, 1);
  const torch::Tensor x = torch::rand({1, 32, 40, 40});
  set_fast_conv_enabled(false);
  const FeatureMap map(x);
  const torch::Tensor y = conv->run(map).to_tensor();
  set_fast_conv_enabled(true);
  EXPECT_FALSE(map.blocked());
  EXPECT_EQ(conv->last_implementation(), "torch");
  EXPECT_TRUE(y.equal(reference(conv, x)));
}

TEST(FastConv2d, ReordersWeightsAgainAfterTheyChange) {
  torch::NoGradGuard no_grad;
  FastConv2d conv(32, 32, 3, 1, 1);
  const torch::Tensor x = torch::rand({1, 32, 40, 40});
  expect_close(conv->forward(x), reference(conv, x), "before");
  conv->weight.mul_(-2);  // in place: same data pointer, new version
  conv->bias.add_(1);
  expect_close(conv->forward(x), reference(conv, x), "after an in-place change");
  expect_close(conv->forward(x, PostOps().scale(0.5)), reference(conv, x) * 0.5, "scaled");
  conv->weight.set_data(torch::randn_like(conv->weight));  // replaced
  expect_close(conv->forward(x, PostOps().scale(0.5)), reference(conv, x) * 0.5, "after replacing");
  conv->to(torch::kDouble);
  conv->to(torch::kFloat);
  expect_close(conv->forward(x), reference(conv, x), "after a dtype round trip");
}

TEST(FeatureMap, RoundTripKeepsPaddingZero) {
  torch::NoGradGuard no_grad;
  for (const int64_t channels : {1, 3, 16, 20, 64}) {
    const torch::Tensor x = torch::randn({2, channels, 5, 7});
    const FeatureMap map(x);
    ASSERT_TRUE(map.blocked());
    EXPECT_EQ(map.data().sizes(), (std::vector<int64_t>{2, (channels + 15) / 16, 5, 7, 16}));
    EXPECT_TRUE(map.to_tensor().equal(x));
    EXPECT_TRUE(map.to_tensor(torch::MemoryFormat::ChannelsLast).equal(x));
    EXPECT_TRUE(FeatureMap(x.contiguous(torch::MemoryFormat::ChannelsLast)).to_tensor().equal(x));
    if (channels % 16 != 0) {
      const torch::Tensor padding = map.data().select(1, map.data().size(1) - 1).narrow(-1, channels % 16, 16 - channels % 16);
      EXPECT_EQ(padding.abs().max().item<float>(), 0.f);
    }
  }
}

TEST(FeatureMap, ChannelViewsAndArithmetic) {
  torch::NoGradGuard no_grad;
  const torch::Tensor a = torch::randn({1, 32, 6, 5});
  const torch::Tensor b = torch::randn({1, 20, 6, 5});
  const FeatureMap cat = FeatureMap::cat({FeatureMap(a), FeatureMap(b)});
  EXPECT_TRUE(cat.blocked());
  EXPECT_TRUE(cat.to_tensor().equal(torch::cat({a, b}, 1)));
  EXPECT_TRUE(cat.narrow_channels(16, 16).to_tensor().equal(a.narrow(1, 16, 16)));
  EXPECT_TRUE(cat.narrow_channels(32, 20).to_tensor().equal(b));
  EXPECT_THROW(cat.narrow_channels(8, 16), c10::Error);
  // Not a multiple of 16 before the last part: concatenated densely, still correct.
  EXPECT_TRUE(FeatureMap::cat({FeatureMap(b), FeatureMap(a)}).to_tensor().equal(torch::cat({b, a}, 1)));
  expect_close(FeatureMap(a).add(FeatureMap(a), 0.5).mul(2).to_tensor(), a * 3, "add mul");
  expect_close(FeatureMap(a).add(FeatureMap::dense(a)).to_tensor(), a * 2, "mixed representations");
  FeatureMap in_place(a);
  in_place.mul_(0.2).add_(FeatureMap(a));
  expect_close(in_place.to_tensor(), a * 1.2, "in place");
  const torch::Tensor up = F::interpolate(
      b, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2}).mode(torch::kNearest));
  EXPECT_TRUE(FeatureMap(b).upsample_nearest(2).to_tensor().equal(up));
  EXPECT_TRUE(FeatureMap::dense(b).upsample_nearest(2).to_tensor().equal(up));
  const auto shifted_sigmoid = [](const torch::Tensor& t) { return torch::sigmoid(t) - 0.25; };
  const FeatureMap mapped = FeatureMap(b).map(shifted_sigmoid);
  EXPECT_TRUE(mapped.to_tensor().allclose(shifted_sigmoid(b)));
  EXPECT_EQ(mapped.data().select(1, 1).narrow(-1, 4, 12).abs().max().item<float>(), 0.f);  // padding
}

TEST(FeatureMap, RunIntoChannelSlicesConcatenatesWithoutCopies) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(4);
  FastConv2d first(16, 32, 3, 1, 1), second(48, 32, 3, 1, 1), last(80, 16, 1);
  for (const int64_t batch : {1, 2}) {
    const torch::Tensor x = torch::randn({batch, 16, 20, 18});
    const FeatureMap input(x);
    FeatureMap buffer = FeatureMap::empty_like(input, 80);
    buffer.narrow_channels(0, 16).copy_(input);
    first->run_into(buffer.narrow_channels(0, 16), buffer.narrow_channels(16, 32), PostOps().leaky_relu(0.2));
    second->run_into(buffer.narrow_channels(0, 48), buffer.narrow_channels(48, 32), PostOps().leaky_relu(0.2));
    const torch::Tensor y = last->run(buffer, PostOps().scale(0.2).add(input)).to_tensor();

    const torch::Tensor f1 = torch::leaky_relu(reference(first, x), 0.2);
    const torch::Tensor f2 = torch::leaky_relu(reference(second, torch::cat({x, f1}, 1)), 0.2);
    const torch::Tensor expected = reference(last, torch::cat({x, f1, f2}, 1)) * 0.2 + x;
    expect_close(y, expected, "dense block, batch " + std::to_string(batch));
  }
}

// A Compact-style chain (conv + PReLU, 6 layers, realistic magnitudes) stays close to LibTorch.
TEST(FastConv2d, ChainOfConvolutionsStaysWithinTolerance) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  std::vector<FastConv2d> convs;
  std::vector<torch::Tensor> slopes;
  int64_t channels = 3;
  for (int i = 0; i < 6; ++i) {
    convs.emplace_back(channels, 64, 3, 1, 1);
    slopes.push_back(torch::full({64}, 0.25) + 0.05 * torch::randn({64}));
    channels = 64;
  }
  FastConv2d tail(64, 3, 3, 1, 1);
  const torch::Tensor x = torch::rand({1, 3, 48, 48});
  FeatureMap h(x);
  torch::Tensor expected = x;
  for (size_t i = 0; i < convs.size(); ++i) {
    h = convs[i]->run(h, PostOps().prelu(slopes[i]));
    expected = torch::prelu(reference(convs[i], expected), slopes[i]);
  }
  const torch::Tensor y = tail->run(h).to_tensor();
  expected = reference(tail, expected);
  EXPECT_LE(max_error(y, expected), 1e-4);
}

}  // namespace fast_conv_test
}  // namespace uprez
