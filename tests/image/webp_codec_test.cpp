// WebP specifics: an animation yields its first frame; lossless keeps colour under transparent pixels.
#include <gtest/gtest.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include <string>
#include <vector>

#include "image/image_io.h"
#include "image_test_util.h"
#include "support/fixtures.h"

namespace uprez {
namespace webp_codec_test {

using test::sample;

TEST(WebpRead, AnimationYieldsItsFirstFrame) {
  const int w = 24, h = 16;
  WebPAnimEncoderOptions options;
  ASSERT_TRUE(WebPAnimEncoderOptionsInit(&options));
  WebPAnimEncoder* encoder = WebPAnimEncoderNew(w, h, &options);
  ASSERT_NE(encoder, nullptr);
  WebPConfig config;
  ASSERT_TRUE(WebPConfigInit(&config));
  config.lossless = 1;
  for (int frame = 0; frame < 3; ++frame) {
    std::vector<uint8_t> rgba(static_cast<size_t>(w) * h * 4);
    for (int i = 0; i < w * h; ++i) {
      rgba[4 * i] = static_cast<uint8_t>(60 * frame + (i % w));
      rgba[4 * i + 1] = static_cast<uint8_t>(i / w * 10);
      rgba[4 * i + 2] = 77;
      rgba[4 * i + 3] = 255;
    }
    WebPPicture picture;
    ASSERT_TRUE(WebPPictureInit(&picture));
    picture.width = w, picture.height = h, picture.use_argb = 1;
    ASSERT_TRUE(WebPPictureImportRGBA(&picture, rgba.data(), w * 4));
    ASSERT_TRUE(WebPAnimEncoderAdd(encoder, &picture, frame * 100, &config));
    WebPPictureFree(&picture);
  }
  ASSERT_TRUE(WebPAnimEncoderAdd(encoder, nullptr, 300, nullptr));
  WebPData data;
  WebPDataInit(&data);
  ASSERT_TRUE(WebPAnimEncoderAssemble(encoder, &data));
  WebPAnimEncoderDelete(encoder);
  const std::string path = test::temp_dir() + "/animated.webp";
  test::write_bytes(path, std::vector<uint8_t>(data.bytes, data.bytes + data.size));
  WebPDataClear(&data);

  const Image image = read_image(path);
  ASSERT_EQ(image.width, w);
  ASSERT_EQ(image.height, h);
  ASSERT_GE(image.channels, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      ASSERT_EQ(sample(image, x, y, 0), static_cast<uint32_t>(x));
      ASSERT_EQ(sample(image, x, y, 1), static_cast<uint32_t>(y * 10));
      ASSERT_EQ(sample(image, x, y, 2), 77u);
    }
}

TEST(WebpWrite, LosslessKeepsColourUnderTransparentPixels) {
  Image image(4, 1, 4, 8);
  const uint8_t pixels[16] = {10, 20, 30, 0, 40, 50, 60, 0, 70, 80, 90, 255, 1, 2, 3, 1};
  std::memcpy(image.data.data(), pixels, 16);
  const std::string path = test::temp_dir() + "/exact.webp";
  ImageWriteOptions options;
  options.lossless = true;
  write_image(image, path, options);
  EXPECT_TRUE(read_image(path).data == image.data);
}

}  // namespace webp_codec_test
}  // namespace uprez
