// Real trained models through the uprez program, against golden images made by spandrel/PyTorch (<= 1/255).
#include <gtest/gtest.h>

#include <cstdlib>

#include "image/image_io.h"
#include "support/fixtures.h"

namespace uprez {
namespace golden_cli_test {

int max_abs_difference(const Image& a, const Image& b) {
  int worst = 0;
  for (size_t i = 0; i < a.data.size(); ++i) worst = std::max(worst, std::abs(int(a.data[i]) - int(b.data[i])));
  return worst;
}

void expect_golden(const std::string& model, const std::string& input, const std::string& golden,
                   const std::string& extra_arguments = "") {
  const std::string models = test::models_root();
  UPREZ_REQUIRE_PATH(models + "/" + model);
  UPREZ_REQUIRE_PATH(models + "/" + golden);
  const std::string output = test::temp_dir() + "/out.png";
  const std::string command = test::build_dir() + "/uprez image-process " + models + "/" + input + " -o " + output +
                              " -p \"upscaler;model=" + models + "/" + model + extra_arguments + "\" > /dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const Image ours = read_image(output);
  const Image expected = read_image(models + "/" + golden);
  ASSERT_EQ(ours.width, expected.width);
  ASSERT_EQ(ours.height, expected.height);
  ASSERT_EQ(ours.channels, expected.channels);
  EXPECT_LE(max_abs_difference(ours, expected), 1) << model << " on " << input;
}

TEST(GoldenCli, CompactGeneralX4v3) {
  expect_golden("pytorch/compact/realesr-general-x4v3.fp32.pth", "golden/inputs/64x64.png",
                "golden/spandrel-tests/64x64/realesr-general-x4v3.png");
}

TEST(GoldenCli, CompactAnimeVideoV3Safetensors) {
  expect_golden("pytorch/compact/realesr-animevideov3-x4.fp16.safetensors", "golden/inputs/32x32.png",
                "golden/generated/32x32/realesr-animevideov3-x4.png");
}

TEST(GoldenCli, SpanCh28Untiled) {
  expect_golden("pytorch/span/4x_NTIRE2024_team38_SPAN_ch28_spandrel.pth", "golden/inputs/64x64.png",
                "golden/generated/64x64/4x_NTIRE2024_team38_SPAN_ch28.png", ";tile=0");
}

TEST(GoldenCli, DitnRealX4) {
  expect_golden("pytorch/ditn/DITN_Real_x4.pth", "golden/inputs/64x64.png",
                "golden/spandrel-tests/64x64/DITN_Real_x4.png");
}

TEST(GoldenCli, DitnRealGanX4) {
  expect_golden("pytorch/ditn/DITN_Real_GAN_x4.pth", "golden/inputs/32x32.png",
                "golden/spandrel-tests/32x32/DITN_Real_GAN_x4.png");
}

TEST(GoldenCli, DctlsaX2) {
  expect_golden("pytorch/dctlsa/X2.pt", "golden/inputs/64x64.png", "golden/spandrel-tests/64x64/2x_dctlsa.png");
}

TEST(GoldenCli, DctlsaX3) {
  expect_golden("pytorch/dctlsa/X3.pt", "golden/inputs/32x32.png", "golden/generated/32x32/3x_dctlsa.png");
}

TEST(GoldenCli, DctlsaX4) {
  expect_golden("pytorch/dctlsa/X4.pt", "golden/inputs/16x16.png", "golden/spandrel-tests/16x16/4x_dctlsa.png");
}

TEST(GoldenCli, CraftX4) {
  expect_golden("pytorch/craft/team34_craft.pth", "golden/inputs/32x32.png", "golden/generated/32x32/team34_craft_x4.png");
}

}  // namespace golden_cli_test
}  // namespace uprez
