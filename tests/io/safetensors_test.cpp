// safetensors files: every supported dtype round-trips, keys come in name order, metadata is ignored, and
// headers that disagree with the file are Errors naming it.
#include "io/safetensors.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "io/mapped_file.h"
#include "model_file_builders.h"
#include "support/fixtures.h"

namespace uprez {
namespace safetensors_test {

using test::expect_error;
using test::SafetensorsParts;
using test::test_tensor;

const std::vector<std::pair<std::string, torch::Tensor>>& sample_tensors() {
  static const std::vector<std::pair<std::string, torch::Tensor>> tensors = {
      {"f32", test_tensor({2, 3})},
      {"f16", test_tensor({3}, torch::kHalf)},
      {"bf16", test_tensor({1, 2}, torch::kBFloat16)},
      {"f64", test_tensor({2}, torch::kDouble)},
      {"i64", test_tensor({2}, torch::kLong, -3)},
      {"i32", test_tensor({2}, torch::kInt, -3)},
      {"i16", test_tensor({2}, torch::kShort, -3)},
      {"i8", test_tensor({2}, torch::kChar, -3)},
      {"u8", test_tensor({4}, torch::kByte)},
      {"bool", test_tensor({4}, torch::kBool)},
      {"scalar", test_tensor({})},
      {"empty", test_tensor({0, 4})},
  };
  return tensors;
}

class SafetensorsTest : public ::testing::Test {
 protected:
  std::string write(const std::string& bytes) {
    const std::string path = dir_ + "/model.safetensors";
    test::write_file(path, bytes);
    return path;
  }
  static StateDict read(const std::string& path) {
    const MappedFile file(path);
    return read_safetensors(file.bytes(), file.path());
  }
  void expect_invalid(const std::string& bytes, const std::string& fragment) {
    const std::string path = write(bytes);
    expect_error([&] { read(path); }, path, fragment);
  }

  std::string dir_ = test::temp_dir();
};

TEST_F(SafetensorsTest, ReadsEveryDtypeInKeyOrder) {
  const std::string bytes = test::safetensors_parts(sample_tensors()).assemble();
  EXPECT_TRUE(looks_like_safetensors({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}));
  const StateDict state_dict = read(write(bytes));
  std::vector<std::string> sorted_names;
  for (const auto& [name, tensor] : sample_tensors()) {
    sorted_names.push_back(name);
    ASSERT_TRUE(state_dict.contains(name)) << name;
    EXPECT_EQ(state_dict.at(name).scalar_type(), tensor.scalar_type()) << name;
    EXPECT_EQ(state_dict.at(name).sizes(), tensor.sizes()) << name;
    EXPECT_TRUE(torch::equal(state_dict.at(name), tensor)) << name;
  }
  std::sort(sorted_names.begin(), sorted_names.end());
  EXPECT_EQ(state_dict.keys(), sorted_names);  // "__metadata__" is not a tensor
}

TEST_F(SafetensorsTest, HeaderLengthBeyondTheFileIsAnError) {
  SafetensorsParts parts = test::safetensors_parts(sample_tensors());
  std::string bytes = parts.assemble();
  test::store_le(bytes, 0, bytes.size(), 8);
  expect_invalid(bytes, "header length");
  test::store_le(bytes, 0, ~uint64_t{0}, 8);
  expect_invalid(bytes, "header length");
  expect_invalid(std::string("\x05\0\0", 3), "truncated safetensors file");
}

TEST_F(SafetensorsTest, DataOutsideTheFileIsAnError) {
  SafetensorsParts parts = test::safetensors_parts({{"w", test_tensor({4})}});
  parts.header["w"]["data_offsets"] = {8, 24};
  expect_invalid(parts.assemble(), "tensor 'w': its data (bytes 8 to 24) lies beyond the end of the file's data (16 bytes)");
  parts.header["w"]["data_offsets"] = {uint64_t{1} << 62, (uint64_t{1} << 62) + 16};
  expect_invalid(parts.assemble(), "lies beyond the end");
}

TEST_F(SafetensorsTest, ShapeThatDisagreesWithTheOffsetsIsAnError) {
  SafetensorsParts parts = test::safetensors_parts({{"w", test_tensor({4})}});
  parts.header["w"]["shape"] = {5};
  expect_invalid(parts.assemble(), "tensor 'w': its shape and dtype do not match its data size (16 bytes)");
  parts.header["w"]["shape"] = {uint64_t{1} << 40, uint64_t{1} << 40};
  expect_invalid(parts.assemble(), "do not match");
  parts.header["w"]["shape"] = {-4};
  expect_invalid(parts.assemble(), "shape holds something other than non-negative integers");
  parts.header["w"]["shape"] = {2.0, 2};
  expect_invalid(parts.assemble(), "shape holds something other than non-negative integers");
  parts.header["w"]["shape"] = "4";
  expect_invalid(parts.assemble(), "its shape is invalid");
  parts.header["w"]["shape"] = {4};
  parts.header["w"]["data_offsets"] = {16, 0};
  expect_invalid(parts.assemble(), "data_offsets are not [begin, end]");
  parts.header["w"]["data_offsets"] = {0, 8, 16};
  expect_invalid(parts.assemble(), "its data_offsets is invalid");
}

TEST_F(SafetensorsTest, UnknownDtypeIsAnError) {
  SafetensorsParts parts = test::safetensors_parts({{"w", test_tensor({4})}});
  parts.header["w"]["dtype"] = "F8_E4M3";
  expect_invalid(parts.assemble(), "tensor 'w': its dtype F8_E4M3 is not supported");
  parts.header["w"].erase("dtype");
  expect_invalid(parts.assemble(), "tensor 'w': it has no dtype");
  parts.header["w"] = 7;
  expect_invalid(parts.assemble(), "its header entry is not an object");
}

TEST_F(SafetensorsTest, MalformedJsonIsAnError) {
  const SafetensorsParts parts = test::safetensors_parts({{"w", test_tensor({4})}});
  expect_invalid(parts.assemble_with_header("{\"w\": "), "not valid JSON");
  expect_invalid(parts.assemble_with_header("[1, 2]"), "not a JSON object");
  expect_invalid(parts.assemble_with_header("{\"a\":" + std::string(100000, '[') + std::string(100000, ']') + "}"),
                 "nested too deeply");
}

TEST_F(SafetensorsTest, RandomCorruptionNeverCrashes) {
  const std::string valid = test::safetensors_parts(sample_tensors()).assemble();
  std::mt19937 random(7);
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = valid;
    for (int i = 0; i <= trial % 3; ++i) bytes[random() % bytes.size()] = static_cast<char>(random());
    const std::string path = write(bytes);
    try {
      read(path);
    } catch (const Error& error) {
      EXPECT_EQ(std::string(error.what()).rfind(path, 0), 0u) << error.what();
    }
  }
}

TEST_F(SafetensorsTest, LooksLikeSafetensorsChecksTheHeaderLength) {
  const auto looks_like = [](const std::string& bytes) {
    return looks_like_safetensors({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  };
  EXPECT_FALSE(looks_like(""));
  EXPECT_FALSE(looks_like(std::string("\x02\0\0\0\0\0\0\0{", 9)));
  EXPECT_TRUE(looks_like(std::string("\x02\0\0\0\0\0\0\0{}", 10)));
  EXPECT_FALSE(looks_like(std::string("\x03\0\0\0\0\0\0\0{}", 10)));
  EXPECT_FALSE(looks_like(std::string("\x02\0\0\0\0\0\0\0[]", 10)));
}

}  // namespace safetensors_test
}  // namespace uprez
