// read_image / write_image: round trips for every format, channel count and bit depth, ICC profiles, format
// detection by content, and the temporary-file-then-rename write.
#include "image/image_io.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <ostream>

#include "core/error.h"
#include "image_test_util.h"
#include "support/fixtures.h"

namespace uprez {
namespace image_io_test {

namespace fs = std::filesystem;
using test::file_bytes;
using test::sample;

void expect_equal_samples(const Image& expected, const Image& actual) {
  ASSERT_EQ(actual.width, expected.width);
  ASSERT_EQ(actual.height, expected.height);
  ASSERT_EQ(actual.channels, expected.channels);
  ASSERT_EQ(actual.bit_depth, expected.bit_depth);
  EXPECT_TRUE(actual.data == expected.data);
}

// The image a format should give back: `channels` channels at `depth` bits, derived exactly from `image`.
Image expected_as(const Image& image, int channels, int depth) {
  Image out(image.width, image.height, channels, depth);
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      for (int c = 0; c < channels; ++c) {
        const bool alpha_out = (channels == 2 || channels == 4) && c == channels - 1;
        uint32_t v;
        if (alpha_out)
          v = image.has_alpha() ? sample(image, x, y, image.channels - 1) : (image.bit_depth == 16 ? 65535 : 255);
        else v = sample(image, x, y, image.color_channels() == 1 ? 0 : c);
        if (image.bit_depth == 16 && depth == 8) v = (v * 255 + 32767) / 65535;
        test::set_sample(out, x, y, c, v);
      }
  return out;
}

struct Case {
  const char* extension;
  int channels;
  int depth;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.extension << " " << c.channels << "ch " << c.depth << "-bit"; }

class LosslessRoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(LosslessRoundTrip, ValuesAreKept) {
  const Case c = GetParam();
  const std::string ext = c.extension, dir = test::temp_dir();
  for (auto [width, height] : {std::pair{1, 1}, std::pair{17, 13}, std::pair{97, 89}}) {
    SCOPED_TRACE(std::to_string(width) + "x" + std::to_string(height));
    const Image image = test::noise_image(width, height, c.channels, c.depth);
    const std::string path = dir + "/image" + ext;
    ImageWriteOptions options;
    options.lossless = true;
    write_image(image, path, options);
    const Image back = read_image(path);
    if (ext == ".png" || ext == ".tif") {
      expect_equal_samples(image, back);
    } else if (ext == ".bmp") {  // 8 bits; gray stays gray, gray+alpha becomes RGBA
      expect_equal_samples(expected_as(image, c.channels == 1 ? 1 : image.has_alpha() ? 4 : 3, 8), back);
    } else {  // lossless WebP: 8-bit RGB or RGBA
      expect_equal_samples(expected_as(image, image.has_alpha() ? 4 : 3, 8), back);
    }
  }
}

const Case kLosslessCases[] = {
    {".png", 1, 8},  {".png", 2, 8},  {".png", 3, 8},  {".png", 4, 8},   {".png", 1, 16},  {".png", 2, 16},
    {".png", 3, 16}, {".png", 4, 16}, {".tif", 1, 8},  {".tif", 2, 8},   {".tif", 3, 8},   {".tif", 4, 8},
    {".tif", 1, 16}, {".tif", 2, 16}, {".tif", 3, 16}, {".tif", 4, 16},  {".bmp", 1, 8},   {".bmp", 2, 8},
    {".bmp", 3, 8},  {".bmp", 4, 8},  {".bmp", 1, 16}, {".bmp", 3, 16},  {".bmp", 4, 16},  {".webp", 1, 8},
    {".webp", 2, 8}, {".webp", 3, 8}, {".webp", 4, 8}, {".webp", 3, 16}, {".webp", 4, 16},
};

INSTANTIATE_TEST_SUITE_P(AllFormats, LosslessRoundTrip, ::testing::ValuesIn(kLosslessCases), [](const auto& info) {
  return std::string(info.param.extension + 1) + "_c" + std::to_string(info.param.channels) + "_" +
         std::to_string(info.param.depth) + "bit";
});

TEST(LossyRoundTrip, JpegIsCloseAndDropsAlpha) {
  const std::string dir = test::temp_dir();
  for (int channels = 1; channels <= 4; ++channels)
    for (int depth : {8, 16}) {
      const Image image = test::smooth_image(61, 47, channels, depth);
      const std::string path = dir + "/smooth.jpg";
      write_image(image, path);
      const Image back = read_image(path);
      EXPECT_EQ(back.channels, channels <= 2 ? 1 : 3);
      EXPECT_EQ(back.bit_depth, 8);
      ASSERT_EQ(back.width, 61);
      ASSERT_EQ(back.height, 47);
      EXPECT_GT(test::psnr(image, back, back.channels), 38.0) << channels << " channels, " << depth << " bits";
    }
}

TEST(LossyRoundTrip, JpegQualityChangesSizeAndFidelity) {
  const std::string dir = test::temp_dir();
  const Image image = test::smooth_image(128, 96, 3, 8);
  ImageWriteOptions low;
  low.quality = 20;
  write_image(image, dir + "/low.jpg", low);
  write_image(image, dir + "/high.jpg");
  EXPECT_LT(fs::file_size(dir + "/low.jpg"), fs::file_size(dir + "/high.jpg"));
  EXPECT_LT(test::psnr(image, read_image(dir + "/low.jpg"), 3), test::psnr(image, read_image(dir + "/high.jpg"), 3));
}

TEST(LossyRoundTrip, WebpLossyIsCloseAndKeepsAlpha) {
  const std::string dir = test::temp_dir();
  for (int channels : {3, 4}) {
    const Image image = test::smooth_image(64, 40, channels, 8);
    write_image(image, dir + "/smooth.webp");
    const Image back = read_image(dir + "/smooth.webp");
    ASSERT_EQ(back.channels, channels);
    EXPECT_GT(test::psnr(image, back, 3), 35.0);
    if (channels == 4) {  // alpha is stored losslessly by default
      for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x) ASSERT_NEAR(sample(back, x, y, 3), sample(image, x, y, 3), 1);
    }
  }
}

class IccRoundTrip : public ::testing::TestWithParam<const char*> {};

TEST_P(IccRoundTrip, ProfileBytesAreKept) {
  Image image = test::noise_image(19, 11, 3, 8);
  image.icc_profile = test::make_icc("RGB ", 70000);  // > 64 KiB: JPEG must split it over several APP2 markers
  const std::string path = test::temp_dir() + "/icc" + GetParam();
  write_image(image, path);
  EXPECT_EQ(read_image(path).icc_profile, image.icc_profile);
}

INSTANTIATE_TEST_SUITE_P(Formats, IccRoundTrip, ::testing::Values(".png", ".jpg", ".webp", ".tif"),
                         [](const auto& info) { return std::string(info.param + 1); });

TEST(IccRoundTrip, GrayPngProfile) {
  Image image = test::noise_image(5, 4, 1, 16);
  image.icc_profile = test::make_icc("GRAY");
  const std::string path = test::temp_dir() + "/gray.png";
  write_image(image, path);
  EXPECT_EQ(read_image(path).icc_profile, image.icc_profile);
}

TEST(IccRoundTrip, PngLeavesOutAProfileLibpngRejects) {
  Image image = test::noise_image(5, 4, 3, 8);
  image.icc_profile = test::make_icc("GRAY");  // a gray profile on an RGB image
  const std::string path = test::temp_dir() + "/mismatch.png";
  write_image(image, path);
  const Image back = read_image(path);
  EXPECT_TRUE(back.icc_profile.empty());
  EXPECT_TRUE(back.data == image.data);
}

TEST(IccRoundTrip, NoProfileStaysEmpty) {
  const std::string dir = test::temp_dir();
  for (const char* ext : {".png", ".jpg", ".webp", ".tif", ".bmp"}) {
    write_image(test::noise_image(4, 4, 3, 8), dir + "/plain" + ext);
    EXPECT_TRUE(read_image(dir + "/plain" + ext).icc_profile.empty()) << ext;
  }
}

TEST(FormatDetection, ContentWinsOverExtension) {
  const std::string dir = test::temp_dir();
  const Image image = test::noise_image(9, 7, 4, 16);
  write_image(image, dir + "/real.png");
  fs::rename(dir + "/real.png", dir + "/fake.jpg");
  expect_equal_samples(image, read_image(dir + "/fake.jpg"));

  write_image(image, dir + "/real.tif");
  fs::rename(dir + "/real.tif", dir + "/noextension");
  expect_equal_samples(image, read_image(dir + "/noextension"));
}

TEST(FormatDetection, ExtensionIsCaseInsensitive) {
  const std::string dir = test::temp_dir();
  const Image image = test::noise_image(3, 2, 3, 8);
  write_image(image, dir + "/UPPER.PNG");
  expect_equal_samples(image, read_image(dir + "/UPPER.PNG"));
  write_image(image, dir + "/Mixed.TiFf");
  expect_equal_samples(image, read_image(dir + "/Mixed.TiFf"));
  write_image(image, dir + "/photo.JPEG");
  EXPECT_EQ(read_image(dir + "/photo.JPEG").width, 3);
}

TEST(FormatDetection, KnownExtensions) {
  for (const char* ext : {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".PNG", ".JpG", ".TIFF"})
    EXPECT_TRUE(is_image_extension(ext)) << ext;
  for (const char* ext : {"", ".", "png", ".gif", ".pngx", ".jp", ".tga", ".exr"})
    EXPECT_FALSE(is_image_extension(ext)) << ext;
}

TEST(WriteImage, UnknownExtensionIsAnErrorNamingIt) {
  const std::string path = test::temp_dir() + "/out.gif";
  try {
    write_image(test::noise_image(2, 2, 3, 8), path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
    EXPECT_NE(std::string(e.what()).find(".gif"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(path));
}

TEST(WriteImage, BadQualityAndBadImageAreErrors) {
  const std::string dir = test::temp_dir();
  ImageWriteOptions options;
  options.quality = 0;
  EXPECT_THROW(write_image(test::noise_image(2, 2, 3, 8), dir + "/q.jpg", options), Error);
  Image broken = test::noise_image(2, 2, 3, 8);
  broken.data.pop_back();
  EXPECT_THROW(write_image(broken, dir + "/broken.png"), Error);
  EXPECT_TRUE(fs::is_empty(dir));
}

std::vector<std::string> directory_entries(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

TEST(WriteImage, FailureLeavesTheOldFileAndNoTemporaryFile) {
  const std::string dir = test::temp_dir();
  const std::string path = dir + "/keep.webp";
  write_image(test::noise_image(8, 8, 3, 8), path);
  const std::vector<uint8_t> before = file_bytes(path);
  // WebP cannot hold more than 16383 pixels per side: the encoder fails after the temporary file exists.
  try {
    write_image(test::noise_image(16384, 1, 3, 8), path);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
  }
  EXPECT_EQ(file_bytes(path), before);
  EXPECT_EQ(directory_entries(dir), std::vector<std::string>{"keep.webp"});
}

TEST(WriteImage, SuccessReplacesTheFileKeepsItsModeAndLeavesNoTemporaryFile) {
  const std::string dir = test::temp_dir();
  const std::string path = dir + "/out.png";
  write_image(test::noise_image(8, 8, 3, 8), path);
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  const Image second = test::noise_image(5, 3, 1, 16);
  write_image(second, path);
  expect_equal_samples(second, read_image(path));
  struct stat info;
  ASSERT_EQ(::stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0640u);
  EXPECT_EQ(directory_entries(dir), std::vector<std::string>{"out.png"});
}

TEST(WriteImage, MissingFolderIsAnError) {
  const std::string path = test::temp_dir() + "/no/such/folder/out.png";
  try {
    write_image(test::noise_image(2, 2, 3, 8), path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
  }
}

TEST(WriteImage, RelativePathInCurrentFolder) {
  const fs::path old = fs::current_path();
  fs::current_path(test::temp_dir());
  write_image(test::noise_image(3, 3, 3, 8), "relative.bmp");
  EXPECT_EQ(read_image("relative.bmp").width, 3);
  fs::current_path(old);
}

TEST(ReadImage, MissingFileAndFolderAreErrorsNamingThePath) {
  const std::string dir = test::temp_dir();
  for (const std::string& path : {dir + "/missing.png", dir}) {
    try {
      read_image(path);
      FAIL() << path;
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
    }
  }
}

}  // namespace image_io_test
}  // namespace uprez
