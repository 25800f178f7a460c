// PNG decoding of the layouts uprez never writes itself: palettes (with and without tRNS), 1/2/4-bit gray,
// gray with a tRNS colour key, and interlacing. Files are made here with libpng directly.
#include <gtest/gtest.h>
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <vector>

#include "image/image_io.h"
#include "image_test_util.h"
#include "support/fixtures.h"

namespace uprez {
namespace png_codec_test {

using test::sample;

struct PngSpec {
  int width, height, bit_depth, color_type;
  bool interlaced = false;
  std::vector<png_color> palette{};
  std::vector<png_byte> trans{};  // palette alpha entries
  bool gray_key = false;          // tRNS gray colour key
  png_uint_16 key = 0;
};

// Writes packed rows (already in PNG's own bit layout) with libpng.
void write_png(const std::string& path, const PngSpec& spec, const std::vector<std::vector<png_byte>>& rows) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  ASSERT_EQ(setjmp(png_jmpbuf(png)), 0);
  png_init_io(png, file);
  png_set_IHDR(png, info, spec.width, spec.height, spec.bit_depth, spec.color_type,
               spec.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!spec.palette.empty()) png_set_PLTE(png, info, spec.palette.data(), static_cast<int>(spec.palette.size()));
  if (!spec.trans.empty()) png_set_tRNS(png, info, spec.trans.data(), static_cast<int>(spec.trans.size()), nullptr);
  png_color_16 key{};
  key.gray = spec.key;
  if (spec.gray_key) png_set_tRNS(png, info, nullptr, 0, &key);
  png_write_info(png, info);
  std::vector<png_bytep> pointers;
  for (const auto& row : rows) pointers.push_back(const_cast<png_bytep>(row.data()));
  png_write_image(png, pointers.data());
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  std::fclose(file);
}

TEST(PngRead, PaletteWithTransparencyBecomesRgba) {
  PngSpec spec{4, 2, 8, PNG_COLOR_TYPE_PALETTE};
  spec.palette = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
  spec.trans = {0, 128};  // entries 2 and 3 stay opaque
  const std::string path = test::temp_dir() + "/palette.png";
  write_png(path, spec, {{0, 1, 2, 3}, {3, 2, 1, 0}});
  const Image image = read_image(path);
  ASSERT_EQ(image.channels, 4);
  ASSERT_EQ(image.bit_depth, 8);
  const uint32_t expected[4][4] = {{255, 0, 0, 0}, {0, 255, 0, 128}, {0, 0, 255, 255}, {10, 20, 30, 255}};
  for (int x = 0; x < 4; ++x)
    for (int c = 0; c < 4; ++c) {
      EXPECT_EQ(sample(image, x, 0, c), expected[x][c]);
      EXPECT_EQ(sample(image, x, 1, c), expected[3 - x][c]);
    }
}

TEST(PngRead, PaletteWithoutTransparencyBecomesRgb) {
  PngSpec spec{3, 1, 2, PNG_COLOR_TYPE_PALETTE};  // 2-bit indices
  spec.palette = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}};
  const std::string path = test::temp_dir() + "/palette2.png";
  write_png(path, spec, {{0b00011000}});  // indices 0, 1, 2
  const Image image = read_image(path);
  ASSERT_EQ(image.channels, 3);
  for (int x = 0; x < 3; ++x)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(sample(image, x, 0, c), static_cast<uint32_t>(3 * x + c + 1));
}

TEST(PngRead, LowBitGrayIsWidenedToEightBits) {
  const std::string dir = test::temp_dir();
  for (int bits : {1, 2, 4}) {
    const int levels = 1 << bits, width = levels;
    std::vector<png_byte> row((width * bits + 7) / 8, 0);
    for (int x = 0; x < width; ++x) row[x * bits / 8] |= static_cast<png_byte>(x << (8 - bits - (x * bits) % 8));
    const std::string path = dir + "/gray" + std::to_string(bits) + ".png";
    write_png(path, {width, 1, bits, PNG_COLOR_TYPE_GRAY}, {row});
    const Image image = read_image(path);
    ASSERT_EQ(image.channels, 1);
    ASSERT_EQ(image.bit_depth, 8);
    for (int x = 0; x < width; ++x) EXPECT_EQ(sample(image, x, 0, 0), static_cast<uint32_t>(x * 255 / (levels - 1)));
  }
}

TEST(PngRead, GrayColourKeyBecomesAlpha) {
  PngSpec spec{3, 1, 16, PNG_COLOR_TYPE_GRAY};
  spec.gray_key = true;
  spec.key = 0x1234;
  const std::string path = test::temp_dir() + "/key.png";
  write_png(path, spec, {{0x12, 0x34, 0xFF, 0xFF, 0x00, 0x01}});  // big-endian samples
  const Image image = read_image(path);
  ASSERT_EQ(image.channels, 2);
  ASSERT_EQ(image.bit_depth, 16);
  EXPECT_EQ(sample(image, 0, 0, 0), 0x1234u);
  EXPECT_EQ(sample(image, 0, 0, 1), 0u);
  EXPECT_EQ(sample(image, 1, 0, 0), 0xFFFFu);
  EXPECT_EQ(sample(image, 1, 0, 1), 0xFFFFu);
  EXPECT_EQ(sample(image, 2, 0, 0), 1u);
}

TEST(PngRead, InterlacedImage) {
  PngSpec spec{13, 11, 8, PNG_COLOR_TYPE_RGB};
  spec.interlaced = true;
  std::vector<std::vector<png_byte>> rows(11, std::vector<png_byte>(13 * 3));
  for (int y = 0; y < 11; ++y)
    for (int i = 0; i < 13 * 3; ++i) rows[y][i] = static_cast<png_byte>(y * 17 + i * 5);
  const std::string path = test::temp_dir() + "/interlaced.png";
  write_png(path, spec, rows);
  const Image image = read_image(path);
  ASSERT_EQ(image.channels, 3);
  for (int y = 0; y < 11; ++y)
    for (int i = 0; i < 13 * 3; ++i) ASSERT_EQ(image.row(y)[i], rows[y][i]);
}

TEST(PngWrite, SixteenBitSamplesAreBigEndianInTheFile) {
  Image image(2, 1, 1, 16);
  test::set_sample(image, 0, 0, 0, 0x0102);
  test::set_sample(image, 1, 0, 0, 0xA0B0);
  const std::string path = test::temp_dir() + "/be.png";
  write_image(image, path);
  // Decode with plain libpng and no transforms: the row must hold the big-endian bytes.
  std::FILE* file = std::fopen(path.c_str(), "rb");
  ASSERT_NE(file, nullptr);
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  ASSERT_EQ(setjmp(png_jmpbuf(png)), 0);
  png_init_io(png, file);
  png_read_info(png, info);
  ASSERT_EQ(png_get_bit_depth(png, info), 16);
  png_byte row[4];
  png_read_row(png, row, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  std::fclose(file);
  EXPECT_EQ(row[0], 0x01);
  EXPECT_EQ(row[1], 0x02);
  EXPECT_EQ(row[2], 0xA0);
  EXPECT_EQ(row[3], 0xB0);
}

}  // namespace png_codec_test
}  // namespace uprez
