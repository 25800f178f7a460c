#include "ncnn/input_framing.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "io/npy.h"
#include "ncnn/upscale_graph.h"
#include "support/fixtures.h"

using namespace uprez;
using namespace uprez::ncnn;
namespace fs = std::filesystem;

TEST(InputFraming, PaddingMatchesLibTorchWherePadsAreSmallerThanTheImage) {
  const torch::Tensor image = torch::rand({3, 5, 7});
  namespace F = torch::nn::functional;
  const auto torch_pad = [&](auto mode) {
    return F::pad(image.unsqueeze(0), F::PadFuncOptions({3, 4, 2, 1}).mode(mode)).squeeze(0);
  };
  EXPECT_TRUE(pad_image(image, 2, 1, 3, 4, InputFraming::Border::Replicate).equal(torch_pad(torch::kReplicate)));
  EXPECT_TRUE(pad_image(image, 2, 1, 3, 4, InputFraming::Border::Reflect101).equal(torch_pad(torch::kReflect)));
}

TEST(InputFraming, Reflect101FoldsAgainBeyondSmallImages) {
  const torch::Tensor row = torch::arange(3, torch::kFloat).view({1, 1, 3});
  const torch::Tensor padded = pad_image(row, 0, 0, 5, 6, InputFraming::Border::Reflect101);
  const std::vector<float> expected = {1, 0, 1, 2, 1, 0, 1, 2, 1, 0, 1, 2, 1, 0};
  EXPECT_TRUE(padded.flatten().equal(torch::tensor(expected)));
  const torch::Tensor pixel = torch::full({2, 1, 1}, 0.5f);
  EXPECT_TRUE(pad_image(pixel, 18, 19, 18, 19, InputFraming::Border::Reflect101).eq(0.5f).all().item<bool>());
}

namespace input_framing_test {

nlohmann::json read_json(const fs::path& path) {
  std::ifstream stream(path);
  return nlohmann::json::parse(stream);
}

TEST(InputFraming, SizePreservingGraphsDoNotCrop) {
  const std::string folder = uprez::test::models_root() + "/ncnn";
  UPREZ_REQUIRE_PATH(folder);
  for (const char* model : {"realesr-animevideov3-x4", "realesrgan-x4plus", "upscayl-lite-4x", "4xLSDIRCompactC3"})
    EXPECT_FALSE(graph_crops_input(read_param_file(folder + "/" + model + ".param"))) << model;
}

// Every ncnn fixture made from an app-padded whole-image tile: the framing measured from the graph is the app's,
// and the framed run of the plain image is the reference output's top-left (plus Real-CUGAN 4x's nearest base).
TEST(InputFraming, MeasuredFramingReproducesTheAppsOnTheFixtures) {
  const fs::path fixtures = uprez::test::fixtures_root() + "/ncnn";
  const fs::path models = uprez::test::models_root() + "/ncnn";
  UPREZ_REQUIRE_PATH(fixtures.string());
  UPREZ_REQUIRE_PATH(models.string());
  int cases = 0;
  for (const auto& model_dir : fs::directory_iterator(fixtures)) {
    if (!model_dir.is_directory()) continue;
    const std::string model = model_dir.path().filename().string();
    const std::string param = (models / (model + ".param")).string();
    if (!fs::exists(param)) continue;
    const ParamFile file = read_param_file(param);
    std::optional<Net> net;
    InputFraming framing;
    int scale = 0;
    for (const auto& case_dir : fs::directory_iterator(model_dir.path())) {
      if (!fs::exists(case_dir.path() / "meta.json")) continue;
      const nlohmann::json meta = read_json(case_dir.path() / "meta.json");
      if (!meta.contains("app_padding")) {
        EXPECT_FALSE(graph_crops_input(file)) << model;
        continue;
      }
      SCOPED_TRACE(case_dir.path().string());
      ASSERT_TRUE(graph_crops_input(file));
      if (!net) {
        net = Net::load(file, param, (models / (model + ".bin")).string());
        scale = meta.at("scale").get<int>();
        EXPECT_EQ(describe_upscale_graph(file, param).scale, scale);
        framing = measure_input_framing(*net, file, param, net->default_input(), net->default_output(), 3, scale,
                                        torch::kCPU);
      }
      const nlohmann::json& padding = meta.at("app_padding");
      EXPECT_EQ(framing.prepadding, padding.at("prepadding").get<int>());
      // upconv_7 takes any size: its app rounds to 2 all the same, which changes nothing with replicated edges.
      if (model.find("upconv_7") == std::string::npos)
        EXPECT_EQ(framing.align, padding.at("align").get<int>());
      else
        EXPECT_EQ(framing.align, 1);
      EXPECT_EQ(framing.border, padding.at("border") == "replicate" ? InputFraming::Border::Replicate
                                                                     : InputFraming::Border::Reflect101);
      EXPECT_EQ(framing.adds_nearest_base, meta.at("family") == "realcugan" && scale == 4);

      const int64_t height = padding.at("image_hw")[0], width = padding.at("image_hw")[1];
      const int64_t pad = framing.prepadding;
      const torch::Tensor padded_input = read_npy((case_dir.path() / "input.npy").string())[0];
      const torch::Tensor image = padded_input.slice(1, pad, pad + height).slice(2, pad, pad + width);
      torch::Tensor expected =
          read_npy((case_dir.path() / "output.npy").string())[0].slice(1, 0, height * scale).slice(2, 0, width * scale);
      if (framing.adds_nearest_base)
        expected = expected + image.repeat_interleave(scale, 1).repeat_interleave(scale, 2);
      const torch::Tensor output =
          run_framed(*net, framing, image, net->default_input(), net->default_output(), scale);
      ASSERT_EQ(output.sizes(), expected.sizes());
      EXPECT_LT((output - expected).abs().max().item<double>(), 2e-3);
      ++cases;
    }
  }
  if (cases == 0) GTEST_SKIP() << "SKIPPED: no app-padded ncnn fixtures found under " << fixtures;
}

}  // namespace input_framing_test
