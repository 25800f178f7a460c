// Damaged files: every decoder must answer truncated, random, bit-flipped and absurdly large inputs with an
// Error that starts with the path (never a crash, never another exception type, never a huge allocation).
#include <gtest/gtest.h>
#include <zlib.h>

#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "image/image_io.h"
#include "image_test_util.h"
#include "support/fixtures.h"

namespace uprez {
namespace corrupt_input_test {

const char* const kExtensions[] = {".png", ".jpg", ".webp", ".bmp", ".tif"};

std::vector<uint8_t> valid_file(const std::string& extension) {
  Image image = test::smooth_image(37, 23, 3, 8);
  if (extension != ".bmp") image.icc_profile = test::make_icc("RGB ");
  const std::string path = test::temp_dir() + "/valid" + extension;
  write_image(image, path);
  return test::file_bytes(path);
}

// Reads `bytes` from a file and expects an Error whose message starts with the path.
void expect_error(const std::vector<uint8_t>& bytes, const std::string& what) {
  const std::string path = test::temp_dir() + "/corrupt.img";
  test::write_bytes(path, bytes);
  try {
    read_image(path);
    ADD_FAILURE() << what << ": no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << what << ": " << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << what << ": " << e.what();
  }
}

class CorruptInput : public ::testing::TestWithParam<const char*> {};

// libtiff writes out-of-line tag values (here the ICC profile) after the directory, and ignores such a value when
// it is cut off: the pixels are all there, so a TIFF cut inside that tail may still decode, to exact pixels.
bool tiff_tail_cut(const std::vector<uint8_t>& bytes, size_t cut) {
  if (bytes[0] != 'I') return false;
  const size_t ifd = bytes[4] | bytes[5] << 8 | bytes[6] << 16 | static_cast<size_t>(bytes[7]) << 24;
  const size_t entries = bytes[ifd] | bytes[ifd + 1] << 8;
  return cut >= ifd + 2 + 12 * entries + 4;
}

TEST_P(CorruptInput, TruncatedFilesAreErrors) {
  const std::vector<uint8_t> bytes = valid_file(GetParam());
  const size_t n = bytes.size();
  const bool tiff = std::string(GetParam()) == ".tif";
  for (size_t cut : {size_t{0},  size_t{1},  size_t{2},  size_t{3},  size_t{8},   size_t{12},  size_t{16},
                     size_t{24}, size_t{33}, size_t{50}, size_t{64}, size_t{100}, size_t{200}, n / 4,
                     n / 3,      n / 2,      2 * n / 3,  n - 16,     n - 2,       n - 1}) {
    if (cut >= n) continue;
    const std::vector<uint8_t> cut_bytes(bytes.begin(), bytes.begin() + cut);
    if (!tiff || !tiff_tail_cut(bytes, cut)) {
      expect_error(cut_bytes, "cut at " + std::to_string(cut));
      continue;
    }
    const std::string path = test::temp_dir() + "/tail.tif";
    test::write_bytes(path, cut_bytes);
    try {
      EXPECT_TRUE(read_image(path).data == test::smooth_image(37, 23, 3, 8).data) << "cut at " << cut;
    } catch (const Error&) {
    }
  }
}

TEST_P(CorruptInput, RandomBytesAfterTheSignatureAreErrors) {
  const std::vector<uint8_t> bytes = valid_file(GetParam());
  std::mt19937 random(11);
  for (int i = 0; i < 20; ++i) {
    std::vector<uint8_t> junk(bytes.begin(), bytes.begin() + 4);
    junk.resize(4 + random() % 5000);
    for (size_t k = 4; k < junk.size(); ++k) junk[k] = static_cast<uint8_t>(random());
    if (std::string(GetParam()) == ".webp") std::memcpy(junk.data() + 8, "WEBP", 4);
    expect_error(junk, "random " + std::to_string(i));
  }
}

TEST_P(CorruptInput, FlippedBytesGiveAnImageOrAnError) {
  const std::vector<uint8_t> bytes = valid_file(GetParam());
  const std::string path = test::temp_dir() + "/flipped.img";
  std::mt19937 random(5);
  int errors = 0;
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> damaged = bytes;
    for (int flips = 1 + random() % 4; flips > 0; --flips)
      damaged[4 + random() % (damaged.size() - 4)] ^= 1u << (random() % 8);
    test::write_bytes(path, damaged);
    try {
      const Image image = read_image(path);
      ASSERT_EQ(image.data.size(), image.row_bytes() * image.height);
    } catch (const Error& e) {
      ++errors;
      ASSERT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
    } catch (const std::exception& e) {
      FAIL() << "not an uprez::Error: " << e.what();
    }
  }
  RecordProperty("errors", errors);
}

INSTANTIATE_TEST_SUITE_P(Formats, CorruptInput, ::testing::ValuesIn(kExtensions),
                         [](const auto& info) { return std::string(info.param + 1); });

TEST(CorruptInput, UnknownContentIsAnError) {
  std::mt19937 random(3);
  std::vector<uint8_t> junk(1000);
  for (auto& b : junk) b = static_cast<uint8_t>(random());
  junk[0] = 'X';
  expect_error(junk, "random");
  expect_error({}, "empty");
  expect_error({'G', 'I', 'F', '8', '9', 'a'}, "gif");
}

// --- headers that promise enormous images ---

std::vector<uint8_t> png_with_header(uint32_t width, uint32_t height, uint8_t depth, uint8_t color_type) {
  std::vector<uint8_t> b = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  auto u32 = [&b](uint32_t v) { b.insert(b.end(), {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)}); };
  auto chunk = [&](const char* type, const std::vector<uint8_t>& data) {
    u32(static_cast<uint32_t>(data.size()));
    const size_t start = b.size();
    b.insert(b.end(), type, type + 4);
    b.insert(b.end(), data.begin(), data.end());
    u32(static_cast<uint32_t>(crc32(0, b.data() + start, static_cast<uInt>(b.size() - start))));
  };
  chunk("IHDR", {uint8_t(width >> 24), uint8_t(width >> 16), uint8_t(width >> 8), uint8_t(width), uint8_t(height >> 24),
                 uint8_t(height >> 16), uint8_t(height >> 8), uint8_t(height), depth, color_type, 0, 0, 0});
  chunk("IDAT", {0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});  // an empty zlib stream
  chunk("IEND", {});
  return b;
}

TEST(HugeDimensions, Png) {
  expect_error(png_with_header(65535, 65535, 16, 6), "65535x65535 RGBA16");
  expect_error(png_with_header(30000, 30000, 8, 2), "30000x30000 RGB (within the byte cap, but no data)");
  expect_error(png_with_header(0x7FFFFFFF, 1, 8, 0), "2^31-1 wide");
  expect_error(png_with_header(0, 5, 8, 0), "zero width");
}

TEST(HugeDimensions, Jpeg) {
  std::vector<uint8_t> bytes = valid_file(".jpg");
  for (size_t i = 0; i + 8 < bytes.size(); ++i)
    if (bytes[i] == 0xFF && (bytes[i + 1] == 0xC0 || bytes[i + 1] == 0xC1 || bytes[i + 1] == 0xC2)) {
      bytes[i + 5] = 0xFF, bytes[i + 6] = 0xDC;  // height 65500
      bytes[i + 7] = 0xFF, bytes[i + 8] = 0xDC;  // width 65500
      break;
    }
  expect_error(bytes, "65500x65500 RGB");
}

TEST(HugeDimensions, Bmp) {
  std::vector<uint8_t> bytes = valid_file(".bmp");
  auto put32 = [&bytes](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  put32(18, 60000), put32(22, 60000);
  expect_error(bytes, "60000x60000");
  put32(18, 37), put32(22, 0x80000000u);  // height INT32_MIN
  expect_error(bytes, "height INT32_MIN");
  put32(18, 0xFFFFFFFFu), put32(22, 23);  // width -1
  expect_error(bytes, "width -1");
}

TEST(HugeDimensions, Tiff) {
  // A hand-made little-endian TIFF whose single uncompressed strip is far too short for its stated size.
  auto make = [](uint32_t width, uint32_t height, uint16_t compression) {
    std::vector<uint8_t> b = {'I', 'I', 42, 0, 8, 0, 0, 0};
    auto u16 = [&b](uint32_t v) { b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8)}); };
    auto u32 = [&b](uint32_t v) {
      b.insert(b.end(), {uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)});
    };
    const uint32_t entries[][3] = {{256, 4, width},       {257, 4, height}, {258, 3, 8},
                                   {259, 3, compression}, {262, 3, 2},      {273, 4, 200},
                                   {277, 3, 3},           {278, 4, height}, {279, 4, 1000}};
    u16(9);
    for (const auto& e : entries) u16(e[0]), u16(e[1]), u32(1), e[1] == 3 ? (u16(e[2]), u16(0)) : u32(e[2]);
    u32(0);
    b.resize(1200, 0x55);
    return b;
  };
  expect_error(make(60000, 60000, 1), "60000x60000 uncompressed");
  expect_error(make(70000, 10, 1), "70000 wide");
  expect_error(make(65535, 65535, 8), "65535x65535 deflate");
}

TEST(HugeDimensions, WebpCanvas) {
  std::vector<uint8_t> bytes = valid_file(".webp");  // has an ICC profile, so a VP8X chunk
  ASSERT_EQ(std::string(bytes.begin() + 12, bytes.begin() + 16), "VP8X");
  for (int i = 24; i < 30; ++i) bytes[i] = 0xFF;  // canvas 2^24 x 2^24
  expect_error(bytes, "16M x 16M canvas");
}

}  // namespace corrupt_input_test
}  // namespace uprez
