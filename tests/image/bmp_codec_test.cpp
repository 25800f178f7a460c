// BMP decoding of hand-built files: paletted (1/4/8-bit, gray and colour palettes), 16-bit 5-5-5, 24-bit
// top-down, 32-bit with and without alpha, BITFIELDS, OS/2 core headers; unsupported compression is an Error.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "image/image_io.h"
#include "image_test_util.h"
#include "support/fixtures.h"

namespace uprez {
namespace bmp_codec_test {

using test::sample;

struct Bmp {
  uint32_t header_size = 40;
  int32_t width = 0, height = 0;
  uint16_t bpp = 24;
  uint32_t compression = 0;
  uint32_t colors_used = 0;
  std::vector<uint32_t> palette;           // 0x00RRGGBB
  std::vector<uint32_t> masks;             // written right after the header (or inside it, for larger headers)
  std::vector<std::vector<uint8_t>> rows;  // file order, unpadded

  std::vector<uint8_t> bytes() const {
    std::vector<uint8_t> b;
    auto u16 = [&b](uint32_t v) { b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8)}); };
    auto u32 = [&b](uint32_t v) {
      b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)});
    };
    const bool core = header_size == 12;
    const size_t entry = core ? 3 : 4;
    const size_t offset = 14 + header_size + (header_size == 40 ? masks.size() * 4 : 0) + palette.size() * entry;
    b = {'B', 'M'};
    u32(0), u32(0), u32(static_cast<uint32_t>(offset));
    u32(header_size);
    if (core) {
      u16(static_cast<uint32_t>(width)), u16(static_cast<uint32_t>(height)), u16(1), u16(bpp);
    } else {
      u32(static_cast<uint32_t>(width)), u32(static_cast<uint32_t>(height)), u16(1), u16(bpp), u32(compression);
      u32(0), u32(2835), u32(2835), u32(colors_used), u32(0);
      for (uint32_t m : masks) u32(m);
      while (b.size() < 14 + header_size) b.push_back(0);
    }
    for (uint32_t c : palette) {
      b.insert(b.end(), {uint8_t(c), uint8_t(c >> 8), uint8_t(c >> 16)});
      if (!core) b.push_back(0);
    }
    for (const auto& row : rows) {
      b.insert(b.end(), row.begin(), row.end());
      while ((b.size() - offset) % 4) b.push_back(0);
    }
    return b;
  }
};

Image decode(const Bmp& bmp) {
  const std::string path = test::temp_dir() + "/test.bmp";
  test::write_bytes(path, bmp.bytes());
  return read_image(path);
}

void expect_pixels(const Image& image, const std::vector<std::vector<uint32_t>>& expected) {
  ASSERT_EQ(static_cast<size_t>(image.width * image.height), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(static_cast<size_t>(image.channels), expected[i].size());
    for (int c = 0; c < image.channels; ++c)
      EXPECT_EQ(sample(image, static_cast<int>(i % image.width), static_cast<int>(i / image.width), c), expected[i][c])
          << "pixel " << i << " channel " << c;
  }
}

TEST(BmpRead, EightBitColourPaletteBottomUp) {
  Bmp bmp;
  bmp.width = 3, bmp.height = 2, bmp.bpp = 8;
  bmp.palette = {0x102030, 0x405060, 0x708090};
  bmp.colors_used = 3;
  bmp.rows = {{2, 1, 0}, {0, 1, 2}};  // bottom row first
  expect_pixels(decode(bmp),
                {{16, 32, 48}, {64, 80, 96}, {112, 128, 144}, {112, 128, 144}, {64, 80, 96}, {16, 32, 48}});
}

TEST(BmpRead, GrayPalettesGiveGrayImages) {
  Bmp bmp;
  bmp.width = 10, bmp.height = 1, bmp.bpp = 1;
  bmp.palette = {0x000000, 0xFFFFFF};
  bmp.rows = {{0b10110000, 0b01000000}};
  expect_pixels(decode(bmp), {{255}, {0}, {255}, {255}, {0}, {0}, {0}, {0}, {0}, {255}});

  Bmp four;
  four.width = 3, four.height = 1, four.bpp = 4;
  four.palette = {0x111111, 0x222222, 0x333333};
  four.colors_used = 3;
  four.rows = {{0x21, 0x00}};
  expect_pixels(decode(four), {{0x33}, {0x22}, {0x11}});
}

TEST(BmpRead, OutOfPaletteIndicesAreBlack) {
  Bmp bmp;
  bmp.width = 2, bmp.height = 1, bmp.bpp = 8;
  bmp.palette = {0x0000FF};
  bmp.colors_used = 1;
  bmp.rows = {{0, 200}};
  expect_pixels(decode(bmp), {{0, 0, 255}, {0, 0, 0}});
}

TEST(BmpRead, TwentyFourBitTopDown) {
  Bmp bmp;
  bmp.width = 5, bmp.height = -2;
  bmp.rows = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
              {21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35}};
  const Image image = decode(bmp);
  ASSERT_EQ(image.channels, 3);
  EXPECT_EQ(sample(image, 0, 0, 0), 3u);  // BGR -> RGB
  EXPECT_EQ(sample(image, 0, 0, 2), 1u);
  EXPECT_EQ(sample(image, 4, 1, 0), 35u);
}

TEST(BmpRead, ThirtyTwoBitAlphaOnlyWhenUsed) {
  Bmp bmp;
  bmp.width = 2, bmp.height = 1, bmp.bpp = 32;
  bmp.rows = {{1, 2, 3, 0, 4, 5, 6, 0}};
  expect_pixels(decode(bmp), {{3, 2, 1}, {6, 5, 4}});
  bmp.rows = {{1, 2, 3, 0, 4, 5, 6, 200}};
  expect_pixels(decode(bmp), {{3, 2, 1, 0}, {6, 5, 4, 200}});
}

TEST(BmpRead, BitfieldsAndFiveFiveFive) {
  Bmp fields;  // 32-bit with red in the low byte (the reverse of the default layout)
  fields.width = 1, fields.height = 1, fields.bpp = 32, fields.compression = 3;
  fields.masks = {0x000000FF, 0x0000FF00, 0x00FF0000};
  fields.rows = {{10, 20, 30, 99}};
  expect_pixels(decode(fields), {{10, 20, 30}});

  Bmp v5 = fields;  // the same masks inside a 124-byte V5 header, plus alpha
  v5.header_size = 124;
  v5.masks = {0x000000FF, 0x0000FF00, 0x00FF0000, 0xFF000000};
  expect_pixels(decode(v5), {{10, 20, 30, 99}});

  Bmp rgb555;
  rgb555.width = 2, rgb555.height = 1, rgb555.bpp = 16;
  rgb555.rows = {{0x00, 0x7C, 0x1F, 0x00}};  // pure red, pure blue
  expect_pixels(decode(rgb555), {{255, 0, 0}, {0, 0, 255}});
}

TEST(BmpRead, Os2CoreHeader) {
  Bmp bmp;
  bmp.header_size = 12;
  bmp.width = 2, bmp.height = 1, bmp.bpp = 24;
  bmp.rows = {{1, 2, 3, 4, 5, 6}};
  expect_pixels(decode(bmp), {{3, 2, 1}, {6, 5, 4}});
}

TEST(BmpRead, CompressedBmpIsUnsupported) {
  Bmp bmp;
  bmp.width = 2, bmp.height = 1, bmp.bpp = 8, bmp.compression = 1;  // RLE8
  bmp.palette = {0, 0xFFFFFF};
  bmp.rows = {{2, 1, 0, 1}};
  EXPECT_THROW(decode(bmp), Error);
}

}  // namespace bmp_codec_test
}  // namespace uprez
