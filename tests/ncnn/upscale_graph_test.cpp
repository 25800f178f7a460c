// dgenerate's reading of scale and channels from NCNN graphs, on every shared model (against the scale their
// fixtures were made with) and on its refusals.
#include "ncnn/upscale_graph.h"

#include <fstream>

#include <gtest/gtest.h>

#include "core/error.h"
#include "support/fixtures.h"

namespace uprez::ncnn {
namespace upscale_graph_test {

UpscaleGraph describe(const std::string& path) { return describe_upscale_graph(read_param_file(path), path); }

TEST(UpscaleGraph, ReadsEverySharedModel) {
  const std::string folder = uprez::test::models_root() + "/ncnn";
  UPREZ_REQUIRE_PATH(folder);
  const std::vector<std::pair<std::string, int>> models = {
      {"realesr-animevideov3-x2", 2}, {"realesr-animevideov3-x3", 3}, {"realesr-animevideov3-x4", 4},
      {"realesrgan-x4plus", 4},       {"realesrgan-x4plus-anime", 4}, {"upscayl-lite-4x", 4},
      {"RealESRGAN_General_x4_v3", 4}, {"4xLSDIRCompactC3", 4},
  };
  for (const auto& [name, scale] : models) {
    const UpscaleGraph graph = describe(folder + "/" + name + ".param");
    EXPECT_EQ(graph.scale, scale) << name;
    EXPECT_EQ(graph.input_channels, 3) << name;
    EXPECT_EQ(graph.output_channels, 3) << name;
  }
}

TEST(UpscaleGraph, RefusesWhatDgenerateRefuses) {
  const std::string path = uprez::test::temp_dir() + "/no_conv.param";
  std::ofstream(path) << "7767517\n2 2\nInput in 0 1 data\nReLU relu 1 1 data out\n";
  try {
    describe(path);
    FAIL() << "accepted a graph without convolutions";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has no Convolution layers"), std::string::npos) << e.what();
  }
  const std::string downscale = uprez::test::temp_dir() + "/downscale.param";
  std::ofstream(downscale) << "7767517\n2 2\nInput in 0 1 data\n"
                              "Convolution conv 1 1 data out 0=3 1=3 3=2 6=81\n";
  EXPECT_THROW(describe(downscale), Error);
}

}  // namespace upscale_graph_test
}  // namespace uprez::ncnn
