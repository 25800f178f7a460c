// .npy files: write_npy writes what NumPy writes, read_npy reads format versions 1-3 in every supported dtype,
// the fixtures' inputs, and refuses unsupported or malformed arrays with an Error naming the file.
#include "io/npy.h"

#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "model_file_builders.h"
#include "support/fixtures.h"

namespace uprez {
namespace npy_test {

using test::expect_error;

// A .npy file with the given format version, header dict text and data.
std::string npy_file(int version, const std::string& header, const std::string& data) {
  std::string file = "\x93NUMPY";
  file += static_cast<char>(version);
  file += '\0';
  test::append_le(file, header.size() + 1, version == 1 ? 2 : 4);
  return file + header + "\n" + data;
}

std::string header_for(const std::string& descr, const std::string& shape, bool fortran_order = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran_order ? "True" : "False") + ", 'shape': " + shape +
         ", }";
}

class NpyTest : public ::testing::Test {
 protected:
  std::string write(const std::string& bytes) {
    const std::string path = dir_ + "/array.npy";
    test::write_file(path, bytes);
    return path;
  }
  void expect_invalid(const std::string& bytes, const std::string& fragment) {
    const std::string path = write(bytes);
    expect_error([&] { read_npy(path); }, path, fragment);
  }

  std::string dir_ = test::temp_dir();
};

TEST_F(NpyTest, WritesWhatNumpyWrites) {
  const std::string path = dir_ + "/written.npy";
  write_npy(path, test::test_tensor({2, 3}));
  const std::string bytes = test::read_file(path);
  // np.save(f, np.zeros((2, 3), np.float32)) starts with exactly these 128 bytes.
  const std::string numpy_header = std::string("\x93NUMPY\x01\x00\x76\x00", 10) +
                                   "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" +
                                   std::string(58, ' ') + "\n";
  ASSERT_EQ(bytes.size(), 128u + 6 * 4);
  EXPECT_EQ(bytes.substr(0, 128), numpy_header);
  EXPECT_EQ(bytes.substr(128), test::tensor_bytes(test::test_tensor({2, 3})));
}

TEST_F(NpyTest, RoundTripsAnyShapeAsFloat32) {
  for (const std::vector<int64_t>& shape : std::vector<std::vector<int64_t>>{{1, 3, 5, 7}, {5}, {}, {0, 2}}) {
    const std::string path = dir_ + "/round_trip.npy";
    const torch::Tensor tensor = test::test_tensor(shape, torch::kDouble);
    write_npy(path, tensor);
    const torch::Tensor read = read_npy(path);
    EXPECT_EQ(test::read_file(path).size() % 64, (read.numel() * 4) % 64);
    EXPECT_EQ(read.scalar_type(), torch::kFloat);
    EXPECT_EQ(read.sizes(), tensor.sizes());
    EXPECT_TRUE(torch::equal(read, tensor.to(torch::kFloat)));
  }
}

TEST_F(NpyTest, ReadsEveryDtypeAndVersion) {
  const std::vector<std::pair<std::string, torch::ScalarType>> dtypes = {
      {"<f4", torch::kFloat}, {"<f2", torch::kHalf}, {"<f8", torch::kDouble}, {"<i8", torch::kLong},
      {"<i4", torch::kInt},   {"|u1", torch::kByte}, {"|b1", torch::kBool}};
  for (const auto& [descr, dtype] : dtypes) {
    for (int version : {1, 2, 3}) {
      SCOPED_TRACE(descr + " v" + std::to_string(version));
      const torch::Tensor expected = test::test_tensor({2, 2}, dtype, 1);
      const torch::Tensor read = read_npy(write(npy_file(version, header_for(descr, "(2, 2)"), test::tensor_bytes(expected))));
      EXPECT_EQ(read.scalar_type(), dtype);
      EXPECT_TRUE(torch::equal(read, expected));
    }
  }
}

TEST_F(NpyTest, AcceptsHeaderVariations) {
  const std::string data = test::tensor_bytes(test::test_tensor({3}));
  EXPECT_EQ(read_npy(write(npy_file(1, "{\"shape\": (3,), \"descr\": \"<f4\", \"fortran_order\": False}", data))).numel(), 3);
  EXPECT_EQ(read_npy(write(npy_file(1, "{'descr':'<f4','fortran_order':False,'shape':(3,)}   ", data))).numel(), 3);
}

TEST_F(NpyTest, RefusesUnsupportedArrays) {
  const std::string data = test::tensor_bytes(test::test_tensor({2, 2}));
  expect_invalid(npy_file(1, header_for("<f4", "(2, 2)", true), data), "Fortran-ordered");
  expect_invalid(npy_file(1, header_for(">f4", "(2, 2)"), data), "unsupported .npy dtype '>f4'");
  expect_invalid(npy_file(1, header_for("<c8", "(2,)"), data), "unsupported .npy dtype '<c8'");
  expect_invalid(npy_file(4, header_for("<f4", "(2, 2)"), data), "unsupported .npy format version 4");
}

TEST_F(NpyTest, RefusesMalformedFiles) {
  const std::string data = test::tensor_bytes(test::test_tensor({2, 2}));
  expect_invalid("", "not a .npy file");
  expect_invalid("PK\x03\x04 something else", "not a .npy file");
  expect_invalid(npy_file(1, header_for("<f4", "(2, 2)"), data.substr(0, 15)), "does not match its shape");
  expect_invalid(npy_file(1, header_for("<f4", "(2, 2)"), data + "x"), "does not match its shape");
  expect_invalid(npy_file(1, header_for("<f4", "(99999999999, 99999999999)"), data), "does not match its shape");
  expect_invalid(npy_file(1, header_for("<f4", "(99999999999999999999,)"), data), "too large");
  expect_invalid(npy_file(1, header_for("<f4", "(2, -2)"), data), "non-negative integers");
  expect_invalid(npy_file(1, "{'descr': '<f4', 'shape': (2, 2)}", data), "lacks descr, fortran_order or shape");
  expect_invalid(npy_file(1, "{'descr': '<f4, 'fortran_order': False}", data), "invalid .npy header");
  expect_invalid(npy_file(1, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 2)}", data), "not True or False");
  expect_invalid(npy_file(1, "{'descr': '<f4', 'extra': 1}", data), "unexpected key 'extra'");
  expect_invalid(npy_file(1, "('descr', '<f4')", data), "expected '{'");
  std::string short_header = npy_file(1, header_for("<f4", "(2, 2)"), data);
  test::store_le(short_header, 8, 60000, 2);
  expect_invalid(short_header, "truncated .npy file");
}

TEST_F(NpyTest, ReadsFixtureInputs) {
  const std::string root = test::fixtures_root() + "/spandrel";
  UPREZ_REQUIRE_PATH(root + "/index.json");
  std::ifstream index_file(root + "/index.json");
  const nlohmann::json index = nlohmann::json::parse(index_file);
  for (const nlohmann::json& entry : index["cases"]) {
    const std::string path = root + "/" + entry["path"].get<std::string>() + "/input.npy";
    SCOPED_TRACE(path);
    const torch::Tensor input = read_npy(path);
    EXPECT_EQ(input.scalar_type(), torch::kFloat);
    EXPECT_EQ(input.sizes().vec(), entry["input_shape"].get<std::vector<int64_t>>());
    EXPECT_GE(input.min().item<float>(), 0.f);
    EXPECT_LE(input.max().item<float>(), 1.f);
  }
}

}  // namespace npy_test
}  // namespace uprez
