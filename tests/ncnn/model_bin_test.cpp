// ModelBin reads every kind of buffer ncnn's ModelBinFromDataReader reads (fp32 with and without a tag, fp16, int8,
// table-quantized; padding to 4 bytes) and refuses short files, negative or absurd counts and unknown load types
// with an Error naming the file, before allocating anything.
#include "ncnn/model_bin.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "io/model_file_builders.h"

namespace uprez::ncnn {
namespace model_bin_test {

using uprez::test::append_le;
using uprez::test::expect_error;

const std::string kPath = "weights.bin";

std::string float_bytes(const std::vector<float>& values) {
  std::string bytes;
  for (const float value : values) {
    uint32_t bits = 0;
    std::memcpy(&bits, &value, 4);
    uprez::test::append_le(bytes, bits, 4);
  }
  return bytes;
}

std::string tag(uint32_t value) {
  std::string bytes;
  uprez::test::append_le(bytes, value, 4);
  return bytes;
}

class ModelBinTest : public ::testing::Test {
 protected:
  // A ModelBin over `bytes` (kept alive by the fixture).
  ModelBin& bin_over(std::string bytes) {
    bytes_ = std::move(bytes);
    bin_ = std::make_unique<ModelBin>(ByteView{reinterpret_cast<const uint8_t*>(bytes_.data()), bytes_.size()}, kPath);
    return *bin_;
  }

  static std::vector<float> values(const torch::Tensor& tensor) {
    EXPECT_EQ(tensor.scalar_type(), torch::kFloat32);
    EXPECT_EQ(tensor.dim(), 1);
    const torch::Tensor contiguous = tensor.contiguous();
    return std::vector<float>(contiguous.data_ptr<float>(), contiguous.data_ptr<float>() + contiguous.numel());
  }

  std::string bytes_;
  std::unique_ptr<ModelBin> bin_;
};

TEST_F(ModelBinTest, ReadsTaggedFloat32) {
  for (const uint32_t float32_tag : {0u, 0x0002C056u}) {
    ModelBin& bin = bin_over(tag(float32_tag) + float_bytes({1.5f, -2.f, 3.25f}));
    EXPECT_EQ(values(bin.load(3, 0)), (std::vector<float>{1.5f, -2.f, 3.25f}));
    EXPECT_EQ(bin.remaining(), 0u);
  }
}

TEST_F(ModelBinTest, ReadsRawFloat32WithoutTag) {
  ModelBin& bin = bin_over(float_bytes({0.5f, 7.f}) + tag(0x01306B47) + std::string("\x00\x3c\x00\x00", 4));
  EXPECT_EQ(values(bin.load(2, 1)), (std::vector<float>{0.5f, 7.f}));
  EXPECT_EQ(values(bin.load(1, 0)), std::vector<float>{1.f});  // then a tagged fp16 buffer, padded
  EXPECT_EQ(bin.remaining(), 0u);
  EXPECT_EQ(bin.path(), kPath);
}

TEST_F(ModelBinTest, ReadsFloat16AndSkipsItsPadding) {
  std::string data = tag(0x01306B47);
  for (const uint16_t half : {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000}) uprez::test::append_le(data, half, 2);
  data += std::string(2, '\0');  // 10 bytes padded to 12
  ModelBin& bin = bin_over(data + float_bytes({9.f}));
  EXPECT_EQ(values(bin.load(5, 0)), (std::vector<float>{1.f, -2.f, 65504.f, 5.960464477539063e-08f, -0.f}));
  EXPECT_EQ(values(bin.load(1, 1)), std::vector<float>{9.f});
  EXPECT_EQ(bin.remaining(), 0u);
}

TEST_F(ModelBinTest, ReadsInt8AndSkipsItsPadding) {
  ModelBin& bin = bin_over(tag(0x000D4B38) + std::string("\x80\xff\x00\x01\x7f", 5) + std::string(3, '\0'));
  EXPECT_EQ(values(bin.load(5, 0)), (std::vector<float>{-128.f, -1.f, 0.f, 1.f, 127.f}));
  EXPECT_EQ(bin.remaining(), 0u);
}

TEST_F(ModelBinTest, ReadsTableQuantizedValues) {
  // Any other tag with a non-zero byte: a 256-entry table, then one index per value, padded.
  std::vector<float> table(256);
  for (int i = 0; i < 256; ++i) table[i] = 0.5f * i - 3.f;
  for (const uint32_t table_tag : {0x12345678u, 0x01000000u}) {
    ModelBin& bin = bin_over(tag(table_tag) + float_bytes(table) + std::string("\x00\xff\x03\x03\x01\x02", 6) +
                             std::string(2, '\0'));
    EXPECT_EQ(values(bin.load(6, 0)), (std::vector<float>{-3.f, 124.5f, -1.5f, -1.5f, -2.5f, -2.f}));
    EXPECT_EQ(bin.remaining(), 0u);
  }
}

TEST_F(ModelBinTest, ReadsEmptyBuffers) {
  ModelBin& bin = bin_over(tag(0x01306B47) + tag(0));
  EXPECT_EQ(bin.load(0, 0).numel(), 0);
  EXPECT_EQ(bin.load(0, 0).numel(), 0);
  EXPECT_EQ(bin.load(0, 1).numel(), 0);
  EXPECT_EQ(bin.remaining(), 0u);
}

TEST_F(ModelBinTest, RefusesShortFiles) {
  uprez::test::expect_error([&] { bin_over("").load(1, 0); }, kPath, "file too short: a weight tag");
  uprez::test::expect_error([&] { bin_over("\x47\x6b").load(1, 0); }, kPath, "file too short: a weight tag");
  expect_error([&] { bin_over(tag(0) + float_bytes({1.f})).load(2, 0); }, kPath,
               "fp32 weights (2 values) at offset 4 do not fit in the 4 bytes left");
  expect_error([&] { bin_over(float_bytes({1.f})).load(2, 1); }, kPath, "fp32 weights (2 values) at offset 0");
  // fp16 and int8 data must include their padding, as ncnn reads it.
  expect_error([&] { bin_over(tag(0x01306B47) + std::string(6, '\0')).load(3, 0); }, kPath, "fp16 weights");
  expect_error([&] { bin_over(tag(0x000D4B38) + std::string(5, '\0')).load(5, 0); }, kPath, "int8 weights");
  expect_error([&] { bin_over(tag(1) + float_bytes(std::vector<float>(255))).load(1, 0); }, kPath,
               "quantization table");
  expect_error([&] { bin_over(tag(1) + float_bytes(std::vector<float>(256)) + "\0\0\0\0").load(5, 0); }, kPath,
               "quantized weight indices (5 values)");
}

TEST_F(ModelBinTest, RefusesAbsurdCountsWithoutAllocating) {
  const int64_t huge = int64_t{1} << 40;
  const int64_t largest = std::numeric_limits<int64_t>::max();
  for (const uint32_t kind : {0u, 0x01306B47u, 0x000D4B38u, 0x0002C056u, 7u}) {
    SCOPED_TRACE(kind);
    uprez::test::expect_error([&] { bin_over(tag(kind) + std::string(1024, '\0')).load(huge, 0); }, kPath, "(1099511627776 values)");
    uprez::test::expect_error([&] { bin_over(tag(kind) + std::string(1024, '\0')).load(largest, 0); }, kPath, "do not fit in the");
  }
  uprez::test::expect_error([&] { bin_over(std::string(64, '\0')).load(huge, 1); }, kPath, "(1099511627776 values)");
  uprez::test::expect_error([&] { bin_over(std::string(64, '\0')).load(largest, 1); }, kPath, "do not fit in the 64 bytes left");
}

TEST_F(ModelBinTest, RefusesNegativeCountsAndUnknownTypes) {
  uprez::test::expect_error([&] { bin_over(tag(0)).load(-1, 0); }, kPath, "negative number of weights (-1)");
  uprez::test::expect_error([&] { bin_over(tag(0)).load(1, 2); }, kPath, "unsupported weight load type 2");
}

}  // namespace model_bin_test
}  // namespace uprez::ncnn
