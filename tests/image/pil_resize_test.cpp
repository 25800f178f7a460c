// pil_resize_8bit: byte equality with Pillow 9.4's Image.resize (tests/image/data/pil_resize, written by
// tools/make_pil_resize_refs.py), diffusers' bicubic preprocessing of the x4 fixture, and the error paths.
#include "image/pil_resize.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "core/error.h"
#include "image/image_io.h"
#include "image_test_util.h"
#include "io/npy.h"
#include "support/fixtures.h"

namespace uprez {
namespace pil_resize_test {

const std::string kDataDir = (std::filesystem::path(__FILE__).parent_path() / "data" / "pil_resize").string();

PilFilter filter_named(const std::string& name) {
  static const std::map<std::string, PilFilter> filters = {
      {"nearest", PilFilter::Nearest}, {"box", PilFilter::Box},         {"bilinear", PilFilter::Bilinear},
      {"hamming", PilFilter::Hamming}, {"bicubic", PilFilter::Bicubic}, {"lanczos", PilFilter::Lanczos}};
  return filters.at(name);
}

// The number of samples that differ (all of them when the shapes differ).
size_t differing_samples(const Image& actual, const Image& expected) {
  if (actual.width != expected.width || actual.height != expected.height || actual.channels != expected.channels ||
      actual.data.size() != expected.data.size())
    return expected.data.size();
  size_t count = 0;
  for (size_t i = 0; i < expected.data.size(); ++i) count += actual.data[i] != expected.data[i];
  return count;
}

TEST(PilResize, MatchesPillowByteForByte) {
  std::ifstream cases(kDataDir + "/cases.txt");
  ASSERT_TRUE(cases) << kDataDir << "/cases.txt is missing (tools/make_pil_resize_refs.py writes it)";
  std::string line;
  int checked = 0;
  while (std::getline(cases, line)) {
    std::istringstream fields(line);
    std::string input, expected, filter;
    int width = 0, height = 0;
    ASSERT_TRUE(fields >> input >> expected >> filter >> width >> height) << line;
    const Image reference = read_image(kDataDir + "/" + expected);
    const Image result = pil_resize_8bit(read_image(kDataDir + "/" + input), width, height, filter_named(filter));
    EXPECT_EQ(differing_samples(result, reference), 0u) << expected;
    ++checked;
  }
  EXPECT_EQ(checked, 96);
}

TEST(PilResize, DiffusersBicubicPreprocessOfTheX4Fixture) {
  const std::string dir = test::fixtures_root() + "/diffusion/cases/x4_cfg4_nl100_resize18x22";
  UPREZ_REQUIRE_PATH(dir + "/preprocessed_image.npy");
  std::ifstream meta_file(dir + "/meta.json");
  const auto hw = nlohmann::json::parse(meta_file).at("input").at("hw_after_preprocess");
  const Image image = read_image(dir + "/input_0.png");
  const Image resized = pil_resize_8bit(image, hw.at(1).get<int>(), hw.at(0).get<int>(), PilFilter::Bicubic);
  ASSERT_EQ(image.channels, 3);
  // diffusers: np.array(image).astype(np.float32) / 255, then 2 * x - 1, in float32; NCHW.
  const torch::Tensor bytes = torch::from_blob(const_cast<uint8_t*>(resized.data.data()),
                                               {1, resized.height, resized.width, 3}, torch::kUInt8);
  const torch::Tensor actual = (bytes.to(torch::kFloat32) / 255.0f * 2.0f - 1.0f).permute({0, 3, 1, 2});
  const torch::Tensor expected = read_npy(dir + "/preprocessed_image.npy");
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_LE((actual - expected).abs().max().item<float>(), 1e-6f);
}

TEST(PilResize, SameSizeIsACopyWithTheProfile) {
  Image image = test::noise_image(7, 5, 4, 8);
  image.icc_profile = "profile";
  const Image same = pil_resize_8bit(image, 7, 5, PilFilter::Lanczos);
  EXPECT_EQ(same.data, image.data);
  EXPECT_EQ(same.icc_profile, "profile");
  EXPECT_EQ(pil_resize_8bit(image, 3, 9, PilFilter::Bicubic).icc_profile, "profile");
}

TEST(PilResize, RefusesSixteenBitImagesAndEmptySizes) {
  const Image deep = test::noise_image(6, 4, 3, 16);
  EXPECT_THROW(pil_resize_8bit(deep, 3, 2, PilFilter::Bicubic), Error);
  try {
    pil_resize_8bit(deep, 3, 2, PilFilter::Bicubic);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("16-bit"), std::string::npos) << e.what();
  }
  EXPECT_THROW(pil_resize_8bit(test::noise_image(6, 4, 3, 8), 0, 2, PilFilter::Box), Error);
}

}  // namespace pil_resize_test
}  // namespace uprez
