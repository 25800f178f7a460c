// TIFF decoding of layouts made here with libtiff: tiles, big-endian 16-bit, palette, planar, MINISWHITE,
// associated alpha, the Orientation tag; float samples are an Error. libtiff must print nothing.
#include <gtest/gtest.h>
#include <tiffio.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "image/image_io.h"
#include "image_test_util.h"
#include "support/fixtures.h"

namespace uprez {
namespace tiff_codec_test {

using test::sample;

// Writes a TIFF: `tags` sets the fields, `rows` fills scanlines (or tiles, see TiledSixteenBit).
void write_tiff(const std::string& path, const char* mode, const std::function<void(TIFF*)>& body) {
  TIFF* tiff = TIFFOpen(path.c_str(), mode);
  ASSERT_NE(tiff, nullptr);
  body(tiff);
  TIFFClose(tiff);
}

void basic_tags(TIFF* tiff, uint32_t w, uint32_t h, uint16_t spp, uint16_t bps, uint16_t photometric) {
  TIFFSetField(tiff, TIFFTAG_IMAGEWIDTH, w);
  TIFFSetField(tiff, TIFFTAG_IMAGELENGTH, h);
  TIFFSetField(tiff, TIFFTAG_SAMPLESPERPIXEL, spp);
  TIFFSetField(tiff, TIFFTAG_BITSPERSAMPLE, bps);
  TIFFSetField(tiff, TIFFTAG_PHOTOMETRIC, photometric);
  TIFFSetField(tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
}

TEST(TiffRead, TiledSixteenBitBigEndian) {
  const Image image = test::noise_image(37, 23, 3, 16);
  const std::string path = test::temp_dir() + "/tiled.tif";
  write_tiff(path, "wb", [&](TIFF* tiff) {  // "b": big-endian file
    basic_tags(tiff, 37, 23, 3, 16, PHOTOMETRIC_RGB);
    TIFFSetField(tiff, TIFFTAG_TILEWIDTH, 16);
    TIFFSetField(tiff, TIFFTAG_TILELENGTH, 16);
    TIFFSetField(tiff, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
    std::vector<uint16_t> tile(16 * 16 * 3);
    for (int ty = 0; ty < 23; ty += 16)
      for (int tx = 0; tx < 37; tx += 16) {
        std::fill(tile.begin(), tile.end(), 0);
        for (int y = ty; y < std::min(ty + 16, 23); ++y)
          for (int x = tx; x < std::min(tx + 16, 37); ++x)
            for (int c = 0; c < 3; ++c)
              tile[((y - ty) * 16 + (x - tx)) * 3 + c] = static_cast<uint16_t>(sample(image, x, y, c));
        ASSERT_GE(TIFFWriteTile(tiff, tile.data(), tx, ty, 0, 0), 0);
      }
  });
  const Image back = read_image(path);
  ASSERT_EQ(back.bit_depth, 16);
  ASSERT_EQ(back.channels, 3);
  EXPECT_TRUE(back.data == image.data);
}

TEST(TiffRead, PaletteBecomesRgb) {
  const std::string path = test::temp_dir() + "/palette.tif";
  write_tiff(path, "w", [](TIFF* tiff) {
    basic_tags(tiff, 3, 1, 1, 8, PHOTOMETRIC_PALETTE);
    std::vector<uint16_t> r(256, 0), g(256, 0), b(256, 0);
    r[1] = 0xFFFF, g[2] = 0xFFFF, b[3] = 0x8080;
    TIFFSetField(tiff, TIFFTAG_COLORMAP, r.data(), g.data(), b.data());
    uint8_t row[3] = {1, 2, 3};
    TIFFWriteScanline(tiff, row, 0, 0);
  });
  const Image image = read_image(path);
  ASSERT_EQ(image.channels, 3);
  ASSERT_EQ(image.bit_depth, 8);
  EXPECT_EQ(sample(image, 0, 0, 0), 255u);
  EXPECT_EQ(sample(image, 1, 0, 1), 255u);
  EXPECT_EQ(sample(image, 2, 0, 2), 128u);
  EXPECT_EQ(sample(image, 2, 0, 0), 0u);
}

TEST(TiffRead, PlanarEightBitRgb) {
  const std::string path = test::temp_dir() + "/planar.tif";
  write_tiff(path, "w", [](TIFF* tiff) {
    basic_tags(tiff, 2, 2, 3, 8, PHOTOMETRIC_RGB);
    TIFFSetField(tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_SEPARATE);
    for (uint16_t s = 0; s < 3; ++s)
      for (uint32_t y = 0; y < 2; ++y) {
        uint8_t row[2] = {static_cast<uint8_t>(10 * s + y), static_cast<uint8_t>(100 + 10 * s + y)};
        TIFFWriteScanline(tiff, row, y, s);
      }
  });
  const Image image = read_image(path);
  ASSERT_EQ(image.channels, 3);
  for (int y = 0; y < 2; ++y)
    for (int c = 0; c < 3; ++c) {
      EXPECT_EQ(sample(image, 0, y, c), static_cast<uint32_t>(10 * c + y));
      EXPECT_EQ(sample(image, 1, y, c), static_cast<uint32_t>(100 + 10 * c + y));
    }
}

TEST(TiffRead, PlanarRgbaKeepsStraightAlpha) {
  // Read through TIFFRGBAImage, which premultiplies: the decoder must undo it.
  const std::string path = test::temp_dir() + "/planar_alpha.tif";
  const uint8_t planes[4][3] = {{200, 90, 255}, {100, 0, 10}, {50, 255, 20}, {255, 128, 0}};
  write_tiff(path, "w", [&](TIFF* tiff) {
    basic_tags(tiff, 3, 1, 4, 8, PHOTOMETRIC_RGB);
    TIFFSetField(tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_SEPARATE);
    const uint16_t extra = EXTRASAMPLE_UNASSALPHA;
    TIFFSetField(tiff, TIFFTAG_EXTRASAMPLES, 1, &extra);
    for (uint16_t s = 0; s < 4; ++s) TIFFWriteScanline(tiff, const_cast<uint8_t*>(planes[s]), 0, s);
  });
  const Image image = read_image(path);
  ASSERT_EQ(image.channels, 4);
  for (int x = 0; x < 2; ++x)  // the third pixel is fully transparent: its colour is gone
    for (int c = 0; c < 4; ++c) EXPECT_NEAR(static_cast<int>(sample(image, x, 0, c)), planes[c][x], 1) << x << "," << c;
  EXPECT_EQ(sample(image, 2, 0, 3), 0u);
}

TEST(TiffRead, MinIsWhiteIsInverted) {
  const std::string path = test::temp_dir() + "/white.tif";
  write_tiff(path, "w", [](TIFF* tiff) {
    basic_tags(tiff, 2, 1, 1, 8, PHOTOMETRIC_MINISWHITE);
    uint8_t row[2] = {0, 200};
    TIFFWriteScanline(tiff, row, 0, 0);
  });
  const Image image = read_image(path);
  ASSERT_EQ(image.channels, 1);
  EXPECT_EQ(sample(image, 0, 0, 0), 255u);
  EXPECT_EQ(sample(image, 1, 0, 0), 55u);
}

TEST(TiffRead, AssociatedAlphaIsUnpremultiplied) {
  const std::string path = test::temp_dir() + "/assoc.tif";
  write_tiff(path, "w", [](TIFF* tiff) {
    basic_tags(tiff, 3, 1, 4, 8, PHOTOMETRIC_RGB);
    const uint16_t extra = EXTRASAMPLE_ASSOCALPHA;
    TIFFSetField(tiff, TIFFTAG_EXTRASAMPLES, 1, &extra);
    uint8_t row[12] = {100, 50, 0, 100, 0, 0, 0, 0, 255, 128, 1, 255};
    TIFFWriteScanline(tiff, row, 0, 0);
  });
  const Image image = read_image(path);
  ASSERT_EQ(image.channels, 4);
  EXPECT_EQ(sample(image, 0, 0, 0), 255u);  // 100 * 255 / 100
  EXPECT_EQ(sample(image, 0, 0, 1), 128u);  // 50 * 255 / 100, rounded
  EXPECT_EQ(sample(image, 0, 0, 3), 100u);
  EXPECT_EQ(sample(image, 1, 0, 0), 0u);    // fully transparent stays 0
  EXPECT_EQ(sample(image, 2, 0, 0), 255u);  // opaque unchanged
  EXPECT_EQ(sample(image, 2, 0, 1), 128u);
}

TEST(TiffRead, OrientationTagIsApplied) {
  const std::string path = test::temp_dir() + "/rotated.tif";
  write_tiff(path, "w", [](TIFF* tiff) {
    basic_tags(tiff, 3, 2, 1, 16, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(tiff, TIFFTAG_ORIENTATION, ORIENTATION_RIGHTTOP);  // 6: rotate 90 clockwise to view
    for (uint32_t y = 0; y < 2; ++y) {
      uint16_t row[3] = {static_cast<uint16_t>(y * 3 + 1), static_cast<uint16_t>(y * 3 + 2),
                         static_cast<uint16_t>(y * 3 + 3)};
      TIFFWriteScanline(tiff, row, y, 0);
    }
  });
  const Image image = read_image(path);  // stored [1 2 3; 4 5 6] -> shown [4 1; 5 2; 6 3]
  ASSERT_EQ(image.width, 2);
  ASSERT_EQ(image.height, 3);
  const uint32_t expected[3][2] = {{4, 1}, {5, 2}, {6, 3}};
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 2; ++x) EXPECT_EQ(sample(image, x, y, 0), expected[y][x]);
}

TEST(TiffRead, FloatSamplesAreAnErrorAndNothingIsPrinted) {
  const std::string path = test::temp_dir() + "/float.tif";
  write_tiff(path, "w", [](TIFF* tiff) {
    basic_tags(tiff, 2, 1, 1, 32, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(tiff, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_IEEEFP);
    float row[2] = {0.25f, 0.5f};
    TIFFWriteScanline(tiff, row, 0, 0);
  });
  ::testing::internal::CaptureStderr();
  try {
    read_image(path);
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

}  // namespace tiff_codec_test
}  // namespace uprez
