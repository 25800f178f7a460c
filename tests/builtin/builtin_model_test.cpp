// The built-in model compiled into uprez: it is the file in models/, is detected as Compact x4, and upscales a
// small image deterministically, to the same pixels as the recorded ones.
#include "builtin/builtin_model.h"

#include <gtest/gtest.h>

#include "image/image_tensor.h"
#include "io/model_file.h"
#include "support/test_assets.h"

namespace uprez {
namespace builtin_model_test {

TEST(BuiltinModel, IsTheFileInTheRepository) {
  const StateDict builtin = builtin_model_state();
  const StateDict file = load_state_dict(UPREZ_BUILTIN_MODEL_FILE);
  ASSERT_EQ(builtin.keys(), file.keys());
  for (const std::string& key : file.keys()) EXPECT_TRUE(builtin.at(key).equal(file.at(key))) << key;
}

TEST(BuiltinModel, IsCompactX4) {
  const Model model = load_builtin_model();
  EXPECT_EQ(model.info.architecture_id, "Compact");
  EXPECT_EQ(model.info.scale, 4);
  EXPECT_EQ(model.info.input_channels, 3);
  EXPECT_EQ(model.info.output_channels, 3);
  EXPECT_EQ(model.info.hyperparameters.at("act_type"), "prelu");
  for (const torch::Tensor& parameter : model.network->parameters())
    EXPECT_TRUE(parameter.isfinite().all().item<bool>());
}

// The 8-bit output of a 24x16 synthetic image: identical on every run, and its checksum (the sum of the pixel
// values) is the one recorded when the model was trained, within a rounding flip per thousand pixels (other
// CPUs' convolution kernels may round a few values differently).
TEST(BuiltinModel, UpscalesDeterministically) {
  const Model model = load_builtin_model();
  const torch::Tensor input = image_to_tensor(test::synthetic_image(24, 16, 3, 8), 0, 3);
  const torch::Tensor first = model(input).mul(255).round();
  const torch::Tensor second = model(input).mul(255).round();
  ASSERT_EQ(first.sizes(), (std::vector<int64_t>{1, 3, 64, 96}));
  EXPECT_TRUE(first.equal(second));
  constexpr int64_t kRecordedChecksum = 2292542;
  EXPECT_NEAR(first.sum().item<double>(), static_cast<double>(kRecordedChecksum), first.numel() / 1000.0);
}

}  // namespace builtin_model_test
}  // namespace uprez
