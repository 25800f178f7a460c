#include "arch/esrgan.h"

#include <regex>

#include <gtest/gtest.h>

#include "arch/arch_test_util.h"
#include "core/error.h"
#include "nn/fast_conv.h"

namespace uprez {
namespace esrgan_test {

using test::max_abs_difference;
using test::random_image;
using test::renamed;
using test::state_dict_of;

struct Built {
  std::shared_ptr<EsrganNetwork> network;
  StateDict state;  // old `model.N` layout
};

Built build(const EsrganOptions& options, uint64_t seed = 1) {
  torch::manual_seed(seed);
  auto network = std::make_shared<EsrganNetwork>(options);
  network->eval();
  return {network, state_dict_of(*network)};
}

EsrganOptions options(int scale, int num_filters = 8, int num_blocks = 2) {
  EsrganOptions result;
  result.num_filters = num_filters;
  result.num_blocks = num_blocks;
  result.scale = scale;
  return result;
}

// Names of a newer key layout, derived from the old layout of a network with `num_blocks` blocks and
// `length` top-level modules.
struct NewLayout {
  const char* first;      // conv_first
  const char* trunk;      // RRDB_trunk / body
  const char* dense;      // RDB / rdb
  const char* trunk_end;  // trunk_conv / conv_body
  const char* upconv;     // upconv / conv_up
  const char* hr;         // HRconv / conv_hr
};
const NewLayout kRealEsrgan{"conv_first", "body", "rdb", "conv_body", "conv_up", "conv_hr"};
const NewLayout kBsrgan{"conv_first", "RRDB_trunk", "RDB", "trunk_conv", "upconv", "HRconv"};

StateDict to_new_layout(const StateDict& old_state, const NewLayout& layout, int num_blocks, int length) {
  const std::regex dense(R"(model\.1\.sub\.(\d+)\.RDB(\d)\.conv(\d)\.0\.(weight|bias))");
  const std::regex top(R"(model\.(\d+)\.(weight|bias))");
  return renamed(old_state, [&](const std::string& key) {
    std::smatch match;
    if (std::regex_match(key, match, dense))
      return std::string(layout.trunk) + "." + match[1].str() + "." + layout.dense + match[2].str() + ".conv" +
             match[3].str() + "." + match[4].str();
    if (key.rfind("model.1.sub." + std::to_string(num_blocks) + ".", 0) == 0)
      return std::string(layout.trunk_end) + key.substr(key.rfind('.'));
    if (!std::regex_match(key, match, top)) return key;
    const int index = std::stoi(match[1].str());
    const std::string kind = "." + match[2].str();
    if (index == 0) return layout.first + kind;
    if (index == length - 1) return "conv_last" + kind;
    if (index == length - 3) return layout.hr + kind;
    return std::string(layout.upconv) + std::to_string(index / 3) + kind;
  });
}

void expect_same_output(const Built& built, const Model& model, int in_channels, int height, int width) {
  torch::NoGradGuard no_grad;
  const torch::Tensor x = random_image(in_channels, height, width);
  EXPECT_EQ(max_abs_difference(model.network->forward(x), built.network->forward(x)), 0.0);
}

TEST(Esrgan, DetectsAndLoadsOldLayout) {
  const Built built = build(options(4, 12, 1));
  ASSERT_TRUE(kEsrganArchitecture.detect(built.state));
  const Model model = load_model(built.state, "x4.pth");
  EXPECT_EQ(model.info.architecture_id, "ESRGAN");
  EXPECT_EQ(model.info.architecture_name, "ESRGAN");
  EXPECT_EQ(model.info.scale, 4);
  EXPECT_EQ(model.info.purpose, Purpose::SR);
  EXPECT_EQ(model.info.tags, (std::vector<std::string>{"12nf", "1nb"}));
  EXPECT_EQ(model.info.size_requirements.minimum, 2);
  EXPECT_EQ(model.info.size_requirements.multiple_of, 1);
  EXPECT_EQ(model.info.tiling, Tiling::Supported);
  EXPECT_TRUE(model.info.supports_half);
  EXPECT_TRUE(model.info.supports_bfloat16);
  EXPECT_EQ(model.info.hyperparameters,
            nlohmann::json({{"in_nc", 3}, {"out_nc", 3}, {"num_filters", 12}, {"num_blocks", 1}, {"scale", 4},
                            {"plus", false}, {"shuffle_factor", nullptr}, {"norm", nullptr}, {"act", "leakyrelu"},
                            {"upsampler", "upconv"}, {"mode", "CNA"}}));
  expect_same_output(built, model, 3, 6, 5);
  EXPECT_EQ(model(random_image(3, 6, 5)).sizes(), (std::vector<int64_t>{1, 3, 24, 20}));
}

TEST(Esrgan, RecoversScaleFromLayerCount) {
  for (int scale : {1, 2, 8}) {
    const Built built = build(options(scale));
    const Model model = load_model(built.state, "model.pth");
    EXPECT_EQ(model.info.scale, scale);
    EXPECT_EQ(model.info.purpose, scale == 1 ? Purpose::Restoration : Purpose::SR);
    EXPECT_EQ(model.info.hyperparameters["num_blocks"], 2);
    expect_same_output(built, model, 3, 4, 3);
  }
}

TEST(Esrgan, ScaleThreeNetworkIsReadAsScaleTwoLikeSpandrel) {
  // A single x3 upconv stage has as many layers as one x2 stage; spandrel's layer count says x2.
  const Built built = build(options(3));
  EXPECT_EQ(built.network->forward(random_image(3, 4, 5)).sizes(), (std::vector<int64_t>{1, 3, 12, 15}));
  EXPECT_EQ(load_model(built.state, "x3.pth").info.scale, 2);
}

TEST(Esrgan, DetectsChannelsAndGray) {
  EsrganOptions gray = options(2);
  gray.in_nc = 1;
  gray.out_nc = 1;
  const Model model = load_model(build(gray).state, "gray.pth");
  EXPECT_EQ(model.info.input_channels, 1);
  EXPECT_EQ(model.info.output_channels, 1);
  EXPECT_EQ(model.info.hyperparameters["shuffle_factor"], nullptr);
}

TEST(Esrgan, DetectsEsrganPlus) {
  EsrganOptions plus = options(1);
  plus.plus = true;
  const Built built = build(plus);
  ASSERT_TRUE(built.state.contains("model.1.sub.0.RDB1.conv1x1.weight"));
  const Model model = load_model(built.state, "plus.pth");
  EXPECT_EQ(model.info.tags, (std::vector<std::string>{"ESRGAN+", "8nf", "2nb"}));
  EXPECT_EQ(model.info.hyperparameters["plus"], true);
  expect_same_output(built, model, 3, 5, 4);

  // Detected by the conv1x1 key alone, too.
  StateDict without_conv1 = built.state;
  without_conv1.erase("model.1.sub.0.RDB1.conv1.0.weight");
  EXPECT_TRUE(kEsrganArchitecture.detect(without_conv1));
}

TEST(Esrgan, DetectsPixelUnshuffleVariants) {
  struct Variant {
    int shuffle_factor;
    int true_scale;
  };
  for (const Variant variant : {Variant{2, 2}, Variant{4, 1}}) {
    EsrganOptions unshuffle = options(4);
    unshuffle.in_nc = 3 * variant.shuffle_factor * variant.shuffle_factor;
    unshuffle.shuffle_factor = variant.shuffle_factor;
    const Built built = build(unshuffle);
    const Model model = load_model(built.state, "unshuffle.pth");
    EXPECT_EQ(model.info.scale, variant.true_scale);
    EXPECT_EQ(model.info.input_channels, 3);
    EXPECT_EQ(model.info.output_channels, 3);
    EXPECT_EQ(model.info.tags, (std::vector<std::string>{"8nf", "2nb", "unshuffle"}));
    EXPECT_EQ(model.info.size_requirements.minimum, 4);
    EXPECT_EQ(model.info.size_requirements.multiple_of, 4);
    EXPECT_EQ(model.info.hyperparameters["in_nc"], unshuffle.in_nc);
    EXPECT_EQ(model.info.hyperparameters["scale"], 4);
    EXPECT_EQ(model.info.hyperparameters["shuffle_factor"], variant.shuffle_factor);
    expect_same_output(built, model, 3, 8, 12);
    // The call pads to the size requirements and crops back.
    const torch::Tensor output = model(random_image(3, 5, 7));
    EXPECT_EQ(output.sizes(), (std::vector<int64_t>{1, 3, 5 * variant.true_scale, 7 * variant.true_scale}));
  }
}

TEST(Esrgan, UnshuffleNetworkPadsToItsFactor) {
  EsrganOptions unshuffle = options(4);
  unshuffle.in_nc = 12;
  unshuffle.shuffle_factor = 2;
  torch::NoGradGuard no_grad;
  EXPECT_EQ(build(unshuffle).network->forward(random_image(3, 5, 3)).sizes(),
            (std::vector<int64_t>{1, 3, 10, 6}));
}

TEST(Esrgan, ConvertsRealEsrganAndBsrganLayouts) {
  for (const NewLayout* layout : {&kRealEsrgan, &kBsrgan}) {
    for (int scale : {1, 2, 4}) {
      const Built built = build(options(scale, 8, 2));
      const int length = 5 + 3 * (scale == 4 ? 2 : scale == 2 ? 1 : 0);
      const StateDict state = to_new_layout(built.state, *layout, 2, length);
      ASSERT_TRUE(state.contains("conv_first.weight") && state.contains("conv_last.bias"));
      ASSERT_TRUE(kEsrganArchitecture.detect(state)) << layout->trunk;
      const Model model = load_model(state, "new.pth");
      EXPECT_EQ(model.info.scale, scale);
      EXPECT_EQ(model.info.tags, (std::vector<std::string>{"8nf", "2nb"}));
      expect_same_output(built, model, 3, 5, 6);
    }
  }
}

TEST(Esrgan, NewLayoutDropsKeysWithoutOldName) {
  const Built built = build(options(2));
  StateDict state = to_new_layout(built.state, kRealEsrgan, 2, 8);
  state.set("ema_decay", torch::ones({1}));
  EXPECT_NO_THROW(load_model(state, "extra.pth"));
}

TEST(Esrgan, RejectsIncompleteKeySets) {
  const Built built = build(options(4));
  StateDict only_first;
  only_first.set("model.0.weight", built.state.at("model.0.weight"));
  EXPECT_FALSE(kEsrganArchitecture.detect(only_first));

  StateDict new_layout = to_new_layout(built.state, kRealEsrgan, 2, 11);
  new_layout.erase("conv_body.weight");
  EXPECT_FALSE(kEsrganArchitecture.detect(new_layout));
}

TEST(Esrgan, OddKeysFailLoadingNamingTheKey) {
  const Built built = build(options(4));
  StateDict odd = built.state;
  odd.set("model.1.sub.0.RDB1.conv1.0.scale", torch::ones({1}));
  ASSERT_TRUE(kEsrganArchitecture.detect(odd));
  try {
    load_model(odd, "odd.pth");
    FAIL() << "odd key accepted";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("model.1.sub.0.RDB1.conv1.0.scale"), std::string::npos);
  }

  StateDict missing = built.state;
  missing.erase("model.1.sub.1.RDB3.conv5.0.bias");
  EXPECT_THROW(load_model(missing, "missing.pth"), Error);
}

// With 16-channel multiples the dense blocks run in oneDNN's blocked layout (channel slices of shared buffers,
// fused residuals); the result must match plain LibTorch convolutions, for every variant and batch size.
TEST(Esrgan, BlockedLayoutMatchesLibTorch) {
  torch::NoGradGuard no_grad;
  struct Case {
    const char* name;
    EsrganOptions options;
    int64_t batch;
  };
  EsrganOptions plus = options(2, 32, 2);
  plus.plus = true;
  EsrganOptions unshuffle = options(4, 16, 1);
  unshuffle.in_nc = 12;
  unshuffle.shuffle_factor = 2;
  const std::vector<Case> cases = {{"x4 nf32", options(4, 32, 2), 1},
                                   {"x4 nf32 batch 2", options(4, 32, 1), 2},
                                   {"ESRGAN+", plus, 1},
                                   {"x2 unshuffle", unshuffle, 1}};
  for (const Case& c : cases) {
    const Built built = build(c.options);
    const torch::Tensor x = torch::rand({c.batch, 3, 21, 19});
    const torch::Tensor blocked = built.network->forward(x);
    set_fast_conv_enabled(false);
    const torch::Tensor reference = built.network->forward(x);
    set_fast_conv_enabled(true);
    ASSERT_EQ(blocked.sizes(), reference.sizes()) << c.name;
    EXPECT_LT(max_abs_difference(blocked, reference), 1e-4 * (1 + reference.abs().max().item<double>())) << c.name;
  }
}

}  // namespace esrgan_test
}  // namespace uprez
