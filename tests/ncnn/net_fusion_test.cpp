// Net's feature-map path and run-time fusion: convolutions take over the activations and weighted sums that are
// the only readers of their outputs (with a broadcast operand falling back to the unfused layers), Split, Concat,
// Eltwise, BinaryOp and integer nearest Interp keep maps; results equal LibTorch's, with and without oneDNN, and a
// requested intermediate output is never fused away.
#include <gtest/gtest.h>

#include "io/model_file_builders.h"
#include "ncnn/net.h"
#include "ncnn/spatial_test_support.h"
#include "nn/fast_conv.h"
#include "support/fixtures.h"

namespace uprez::ncnn {
namespace net_fusion_test {

namespace F = torch::nn::functional;

// data (16, h, w) -> conv1 -> PReLU -> 0.2 * . + data -> conv2 (LeakyReLU 0.1) -> data - . -> concat with conv1's
// input -> nearest x2 -> conv3 (32 -> 16) -> + a (16) vector (broadcast) -> out.
const std::string kResidualGraph =
    "7767517\n"
    "12 15\n"
    "Input data 0 1 data\n"
    "Split split 1 4 data d0 d1 d2 d3\n"
    "Convolution conv1 1 1 d0 c1 0=16 1=3 4=1 5=1 6=2304\n"
    "PReLU prelu 1 1 c1 p1 0=16\n"
    "Eltwise sum 2 1 p1 d1 s1 0=1 -23301=2,0.2,1.0\n"
    "Convolution conv2 1 1 s1 c2 0=16 1=3 4=1 5=1 6=2304 9=2 -23310=1,0.1\n"
    "BinaryOp rsub 2 1 c2 d2 r2 0=7\n"
    "Concat concat 2 1 r2 d3 cat 0=0\n"
    "Interp up 1 1 cat u 0=1 1=2.0 2=2.0\n"
    "Convolution conv3 1 1 u c3 0=16 1=1 5=1 6=512\n"
    "Input vector 0 1 v\n"
    "BinaryOp add 2 1 c3 v out 0=0\n";

struct Weights {
  torch::Tensor w1 = torch::randn({16, 16, 3, 3}) * 0.1, b1 = torch::randn({16});
  torch::Tensor slopes = torch::rand({16});
  torch::Tensor w2 = torch::randn({16, 16, 3, 3}) * 0.1, b2 = torch::randn({16});
  torch::Tensor w3 = torch::randn({16, 32, 1, 1}) * 0.1, b3 = torch::randn({16});
};

torch::Tensor reference(const Weights& weights, const torch::Tensor& data, const torch::Tensor& vector,
                        torch::Tensor* conv1_output) {
  const torch::Tensor x = data.unsqueeze(0);
  const torch::Tensor c1 = torch::conv2d(x, weights.w1, weights.b1, 1, 1);
  *conv1_output = c1.squeeze(0);
  const torch::Tensor s1 = torch::prelu(c1, weights.slopes) * 0.2 + x;
  const torch::Tensor c2 = torch::leaky_relu(torch::conv2d(s1, weights.w2, weights.b2, 1, 1), 0.1);
  const torch::Tensor cat = torch::cat({x - c2, x}, 1);
  const torch::Tensor up = F::interpolate(cat, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2, 2})
                                                   .mode(torch::kNearest));
  const torch::Tensor c3 = torch::conv2d(up, weights.w3, weights.b3);
  return (c3 + vector.view({1, 16, 1, 1})).squeeze(0);
}

// The residual graph with `weights` as net.param and net.bin in a new temporary folder, which it returns.
std::string write_residual_net(const Weights& weights) {
  const std::string dir = uprez::test::temp_dir();
  uprez::test::write_file(dir + "/net.param", kResidualGraph);
  const std::vector<uint8_t> bin = test::bin_bytes(
      {test::flagged_buffer(weights.w1), test::raw_buffer(weights.b1), test::raw_buffer(weights.slopes),
       test::flagged_buffer(weights.w2), test::raw_buffer(weights.b2), test::flagged_buffer(weights.w3),
       test::raw_buffer(weights.b3)});
  uprez::test::write_file(dir + "/net.bin", std::string(bin.begin(), bin.end()));
  return dir;
}

class NetFusionTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    saved_ = fast_conv_enabled();
    set_fast_conv_enabled(GetParam());
  }
  void TearDown() override { set_fast_conv_enabled(saved_); }
  bool saved_ = true;
};

TEST_P(NetFusionTest, FusedMapPathEqualsLibTorch) {
  torch::manual_seed(3);
  const Weights weights;
  const std::string dir = write_residual_net(weights);
  const Net net = Net::load(dir + "/net.param", dir + "/net.bin");

  using Steps = std::vector<std::vector<std::string>>;
  EXPECT_EQ(net.step_layers({"data", "v"}, "out"),
            (Steps{{"split"}, {"conv1", "prelu", "sum"}, {"conv2", "rsub"}, {"concat"}, {"up"}, {"conv3", "add"}}));
  EXPECT_EQ(net.step_layers({"data"}, "c1"), (Steps{{"split"}, {"conv1"}}));
  EXPECT_EQ(net.step_layers({"data", "p1"}, "s1"), (Steps{{"split"}, {"sum"}}));

  torch::NoGradGuard no_grad;
  for (const auto& [height, width] : std::vector<std::pair<int64_t, int64_t>>{{20, 20}, {7, 13}, {1, 1}}) {
    SCOPED_TRACE(std::to_string(height) + "x" + std::to_string(width));
    const torch::Tensor data = torch::randn({16, height, width});
    const torch::Tensor vector = torch::randn({16});
    torch::Tensor conv1_output;
    const torch::Tensor expected = reference(weights, data, vector, &conv1_output);
    // The vector is an operand of the last sum: bound as a second input through a graph that starts at "data".
    Net::Inputs inputs{{"data", data}, {"v", vector}};
    const torch::Tensor output = net.run(inputs, "out");
    ASSERT_EQ(output.sizes(), expected.sizes());
    EXPECT_LT((output - expected).abs().max().item<float>(), 1e-4);
    // A requested intermediate blob is the convolution's own output, before the PReLU it would take over.
    EXPECT_LT((net.run(inputs, "c1") - conv1_output).abs().max().item<float>(), 1e-4);
  }
}

// The convolution algorithms are the network's Option, given at load and passed to each layer: every choice
// computes the same graph (sgemm runs im2col + GEMM, winograd=false oneDNN's direct kernels).
TEST_P(NetFusionTest, EveryConvolutionOptionEqualsLibTorch) {
  torch::manual_seed(5);
  const Weights weights;
  const std::string dir = write_residual_net(weights);
  torch::NoGradGuard no_grad;
  const torch::Tensor data = torch::randn({16, 24, 20});
  const torch::Tensor vector = torch::randn({16});
  torch::Tensor conv1_output;
  const torch::Tensor expected = reference(weights, data, vector, &conv1_output);
  for (const auto& [winograd, sgemm] : std::vector<std::pair<bool, bool>>{{true, false}, {false, false}, {false, true}}) {
    SCOPED_TRACE(std::string("winograd ") + (winograd ? "on" : "off") + ", sgemm " + (sgemm ? "on" : "off"));
    Option opt;
    opt.conv.winograd = winograd;
    opt.conv.sgemm = sgemm;
    const Net net = Net::load(dir + "/net.param", dir + "/net.bin", opt);
    const torch::Tensor output = net.run(Net::Inputs{{"data", data}, {"v", vector}}, "out");
    EXPECT_LT((output - expected).abs().max().item<float>(), 1e-4);
  }
}

// An ESRGAN-style dense block after a convolution: each Concat joins the previous one's inputs plus one more convolution output (the
// chain shares one buffer that the convolutions write into), and the last convolution's output, scaled by 0.2, is
// added to the block's input.
const std::string kDenseBlockGraph =
    "7767517\n"
    "11 15\n"
    "Input data 0 1 data\n"
    "Convolution conv0 1 1 data x 0=16 1=3 4=1 5=1 6=2304\n"
    "Split split0 1 3 x x0 x1 x2\n"
    "Convolution conv1 1 1 x0 c1 0=16 1=3 4=1 5=1 6=2304 9=2 -23310=1,0.2\n"
    "Split split1 1 2 c1 c1a c1b\n"
    "Concat cat1 2 1 x1 c1a k1 0=0\n"
    "Convolution conv2 1 1 k1 c2 0=16 1=3 4=1 5=1 6=4608 9=2 -23310=1,0.2\n"
    "Split split2 1 2 c2 c2a c2b\n"
    "Concat cat2 3 1 x2 c1b c2a k2 0=0\n"
    "Convolution conv3 1 1 k2 c3 0=16 1=3 4=1 5=1 6=6912\n"
    "Eltwise sum 2 1 c3 c2b out 0=1 -23301=2,0.2,1.0\n";

TEST_P(NetFusionTest, DenseBlockConcatenationsEqualLibTorch) {
  torch::manual_seed(4);
  const torch::Tensor w0 = torch::randn({16, 16, 3, 3}) * 0.1, b0 = torch::randn({16});
  const torch::Tensor w1 = torch::randn({16, 16, 3, 3}) * 0.1, b1 = torch::randn({16});
  const torch::Tensor w2 = torch::randn({16, 32, 3, 3}) * 0.1, b2 = torch::randn({16});
  const torch::Tensor w3 = torch::randn({16, 48, 3, 3}) * 0.1, b3 = torch::randn({16});
  const std::string dir = uprez::test::temp_dir();
  uprez::test::write_file(dir + "/dense.param", kDenseBlockGraph);
  const std::vector<uint8_t> bin =
      test::bin_bytes({test::flagged_buffer(w0), test::raw_buffer(b0), test::flagged_buffer(w1), test::raw_buffer(b1),
                       test::flagged_buffer(w2), test::raw_buffer(b2), test::flagged_buffer(w3), test::raw_buffer(b3)});
  uprez::test::write_file(dir + "/dense.bin", std::string(bin.begin(), bin.end()));
  const Net net = Net::load(dir + "/dense.param", dir + "/dense.bin");
  EXPECT_EQ(net.step_layers({"data"}, "out").back(), (std::vector<std::string>{"conv3", "sum"}));

  torch::NoGradGuard no_grad;
  for (const auto& [height, width] : std::vector<std::pair<int64_t, int64_t>>{{12, 9}, {1, 1}}) {
    const torch::Tensor data = torch::randn({16, height, width});
    const torch::Tensor x = torch::conv2d(data.unsqueeze(0), w0, b0, 1, 1);
    const torch::Tensor c1 = torch::leaky_relu(torch::conv2d(x, w1, b1, 1, 1), 0.2);
    const torch::Tensor c2 = torch::leaky_relu(torch::conv2d(torch::cat({x, c1}, 1), w2, b2, 1, 1), 0.2);
    const torch::Tensor c3 = torch::conv2d(torch::cat({x, c1, c2}, 1), w3, b3, 1, 1);
    const torch::Tensor expected = (c3 * 0.2 + c2).squeeze(0);
    EXPECT_LT((net.run(data, "data", "out") - expected).abs().max().item<float>(), 1e-4);
    // Intermediate concatenations read back whole.
    EXPECT_LT((net.run(data, "data", "k2") - torch::cat({x, c1, c2}, 1).squeeze(0)).abs().max().item<float>(), 1e-4);
  }
}

INSTANTIATE_TEST_SUITE_P(FastConv, NetFusionTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "oneDNN" : "LibTorch"; });

}  // namespace net_fusion_test
}  // namespace uprez::ncnn
