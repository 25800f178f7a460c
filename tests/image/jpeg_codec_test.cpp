// JPEG specifics: EXIF orientation 1-8 in both byte orders (files made here with libjpeg and a hand-built APP1
// segment), malformed EXIF ignored, CMYK converted to RGB.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <random>
// clang-format off
#include <jpeglib.h>
// clang-format on

#include <string>
#include <tuple>
#include <vector>

#include "image/codecs.h"
#include "image/image_io.h"
#include "image_test_util.h"
#include "support/fixtures.h"

namespace uprez {
namespace jpeg_codec_test {

using test::sample;
using Grid = std::vector<std::vector<int>>;  // [row][column]

// "Exif\0\0" + a TIFF structure whose IFD0 holds a Make tag and then the orientation (or what `mangle` does).
std::vector<uint8_t> exif_payload(int orientation, bool little, int mangle = 0) {
  std::vector<uint8_t> p = {'E', 'x', 'i', 'f', 0, 0};
  auto u16 = [&](uint32_t v) {
    if (little) p.insert(p.end(), {uint8_t(v), uint8_t(v >> 8)});
    else p.insert(p.end(), {uint8_t(v >> 8), uint8_t(v)});
  };
  auto u32 = [&](uint32_t v) {
    if (little) p.insert(p.end(), {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)});
    else p.insert(p.end(), {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)});
  };
  p.insert(p.end(), little ? std::initializer_list<uint8_t>{'I', 'I'} : std::initializer_list<uint8_t>{'M', 'M'});
  u16(42);
  u32(mangle == 1 ? 5000 : 8);  // 1: IFD offset past the end
  u16(2);
  u16(0x010F), u16(2), u32(4), p.insert(p.end(), {'a', 'b', 'c', 0});  // Make = "abc"
  u16(0x0112), u16(mangle == 3 ? 4 : 3), u32(1);                       // 3: LONG instead of SHORT
  u16(static_cast<uint32_t>(orientation)), u16(0);
  u32(0);
  if (mangle == 2) p.resize(p.size() - 10);  // 2: the orientation entry is cut short
  return p;
}

void write_jpeg(const std::string& path, int width, int height, int components, J_COLOR_SPACE space,
                const std::vector<uint8_t>& pixels, const std::vector<uint8_t>& app1 = {}) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  jpeg_compress_struct cinfo;
  jpeg_error_mgr errors;
  cinfo.err = jpeg_std_error(&errors);
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, file);
  cinfo.image_width = width;
  cinfo.image_height = height;
  cinfo.input_components = components;
  cinfo.in_color_space = space;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, 100, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  if (!app1.empty()) jpeg_write_marker(&cinfo, JPEG_APP0 + 1, app1.data(), static_cast<unsigned>(app1.size()));
  for (int y = 0; y < height; ++y) {
    JSAMPROW row = const_cast<JSAMPROW>(pixels.data() + static_cast<size_t>(y) * width * components);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::fclose(file);
}

// A 4x2 grid of flat 8x8 gray blocks, all different.
const Grid kBlocks = {{30, 80, 130, 180}, {55, 105, 155, 205}};

std::vector<uint8_t> block_pixels(const Grid& grid) {
  const int w = static_cast<int>(grid[0].size()) * 8, h = static_cast<int>(grid.size()) * 8;
  std::vector<uint8_t> pixels(static_cast<size_t>(w) * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) pixels[static_cast<size_t>(y) * w + x] = static_cast<uint8_t>(grid[y / 8][x / 8]);
  return pixels;
}

Grid flip_h(Grid g) {
  for (auto& row : g) std::reverse(row.begin(), row.end());
  return g;
}
Grid flip_v(Grid g) {
  std::reverse(g.begin(), g.end());
  return g;
}
Grid transpose(const Grid& g) {
  Grid t(g[0].size(), std::vector<int>(g.size()));
  for (size_t r = 0; r < g.size(); ++r)
    for (size_t c = 0; c < g[0].size(); ++c) t[c][r] = g[r][c];
  return t;
}

// What a viewer shows for each EXIF orientation, built from the three elementary operations.
Grid upright(const Grid& g, int orientation) {
  switch (orientation) {
    case 2: return flip_h(g);
    case 3: return flip_h(flip_v(g));
    case 4: return flip_v(g);
    case 5: return transpose(g);
    case 6: return flip_h(transpose(g));  // rotate 90 clockwise
    case 7: return flip_v(flip_h(transpose(g)));
    case 8: return flip_v(transpose(g));  // rotate 90 counter-clockwise
    default: return g;
  }
}

void expect_blocks(const Image& image, const Grid& expected) {
  ASSERT_EQ(image.channels, 1);
  ASSERT_EQ(image.width, static_cast<int>(expected[0].size()) * 8);
  ASSERT_EQ(image.height, static_cast<int>(expected.size()) * 8);
  for (size_t r = 0; r < expected.size(); ++r)
    for (size_t c = 0; c < expected[0].size(); ++c)
      EXPECT_NEAR(static_cast<int>(sample(image, static_cast<int>(c) * 8 + 4, static_cast<int>(r) * 8 + 4, 0)),
                  expected[r][c], 3)
          << "block " << r << "," << c;
}

class ExifOrientation : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(ExifOrientation, PixelsAreTurnedUpright) {
  const auto [orientation, little] = GetParam();
  const std::string path = test::temp_dir() + "/oriented.jpg";
  write_jpeg(path, 32, 16, 1, JCS_GRAYSCALE, block_pixels(kBlocks), exif_payload(orientation, little));
  expect_blocks(read_image(path), upright(kBlocks, orientation));
}

INSTANTIATE_TEST_SUITE_P(AllValues, ExifOrientation, ::testing::Combine(::testing::Range(1, 9), ::testing::Bool()),
                         [](const auto& info) {
                           return "orientation" + std::to_string(std::get<0>(info.param)) +
                                  (std::get<1>(info.param) ? "_II" : "_MM");
                         });

TEST(ExifOrientationMalformed, IsIgnored) {
  const std::string dir = test::temp_dir();
  for (int mangle = 1; mangle <= 3; ++mangle) {
    const std::string path = dir + "/mangled" + std::to_string(mangle) + ".jpg";
    write_jpeg(path, 32, 16, 1, JCS_GRAYSCALE, block_pixels(kBlocks), exif_payload(6, mangle % 2 == 0, mangle));
    expect_blocks(read_image(path), kBlocks);
  }
  // An out-of-range value is ignored too.
  write_jpeg(dir + "/nine.jpg", 32, 16, 1, JCS_GRAYSCALE, block_pixels(kBlocks), exif_payload(9, true));
  expect_blocks(read_image(dir + "/nine.jpg"), kBlocks);
}

TEST(ExifOrientationMalformed, RandomPayloadsNeverReadOutOfBounds) {
  std::mt19937 random(7);
  const std::vector<uint8_t> good = exif_payload(6, true);
  EXPECT_EQ(codec::exif_orientation(good.data(), good.size()), 6);
  for (int i = 0; i < 20000; ++i) {
    std::vector<uint8_t> p = good;
    p.resize(random() % (good.size() + 1));
    for (int flips = random() % 4; flips > 0 && p.size() > 6; --flips) p[6 + random() % (p.size() - 6)] = random();
    const int value = codec::exif_orientation(p.data(), p.size());
    ASSERT_GE(value, 1);
    ASSERT_LE(value, 8);
  }
}

TEST(JpegRead, AdobeCmykBecomesRgb) {
  // Adobe CMYK JPEGs store inverted ink values; libjpeg writes the Adobe marker for CMYK input.
  const uint8_t ink[4] = {255, 0, 255, 255};  // inverted: cyan 0, magenta full, yellow 0, black 0 -> magenta
  std::vector<uint8_t> pixels;
  for (int i = 0; i < 16 * 16; ++i) pixels.insert(pixels.end(), ink, ink + 4);
  const std::string path = test::temp_dir() + "/cmyk.jpg";
  write_jpeg(path, 16, 16, 4, JCS_CMYK, pixels);
  const Image image = read_image(path);
  ASSERT_EQ(image.channels, 3);
  EXPECT_NEAR(static_cast<int>(sample(image, 8, 8, 0)), 255, 3);
  EXPECT_NEAR(static_cast<int>(sample(image, 8, 8, 1)), 0, 3);
  EXPECT_NEAR(static_cast<int>(sample(image, 8, 8, 2)), 255, 3);
}

TEST(JpegWrite, HighQualityKeepsFullChromaResolution) {
  // A one-pixel-wide red line on blue: with 4:2:0 subsampling its colour would bleed into the neighbours.
  Image image(16, 16, 3, 8);
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x) {
      const bool red = x == 7;
      test::set_sample(image, x, y, 0, red ? 255 : 0);
      test::set_sample(image, x, y, 2, red ? 0 : 255);
    }
  const std::string path = test::temp_dir() + "/chroma.jpg";
  ImageWriteOptions options;
  options.quality = 98;
  write_image(image, path, options);
  const Image back = read_image(path);
  EXPECT_GT(static_cast<int>(sample(back, 7, 8, 0)), 200);
  EXPECT_LT(static_cast<int>(sample(back, 6, 8, 0)), 60);
}

}  // namespace jpeg_codec_test
}  // namespace uprez
