// torch.save files: zip checkpoints under any archive folder name, every storage dtype, legacy files, and the
// refusal of TorchScript archives, foreign zip files and inconsistent or truncated storage data.
#include "io/torch_file.h"

#include <gtest/gtest.h>

#include "io/mapped_file.h"
#include "model_file_builders.h"
#include "support/fixtures.h"

namespace uprez {
namespace torch_file_test {

using test::CheckpointDict;
using test::expect_error;
using test::test_tensor;
using test::ZipBuilder;

class TorchFileTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    test::write_file(path, bytes);
    return path;
  }

  // The top-level dict of the zip checkpoint at `path`, as a map of name to tensor.
  static std::map<std::string, torch::Tensor> read_zip(const std::string& path) {
    const MappedFile file(path);
    const ZipArchive archive(file);
    return tensors_of(read_torch_zip_checkpoint(archive));
  }
  static std::map<std::string, torch::Tensor> read_legacy(const std::string& path) {
    const MappedFile file(path);
    return tensors_of(read_torch_legacy_checkpoint(file));
  }
  static std::map<std::string, torch::Tensor> tensors_of(const pickle::Document& document) {
    std::map<std::string, torch::Tensor> tensors;
    for (const auto& [key, value] : document.root().as_dict()->items()) {
      if (value.as_tensor()) tensors[*key.as_str()] = *value.as_tensor();
    }
    return tensors;
  }

  std::string dir_ = test::temp_dir();
};

const std::vector<torch::ScalarType> kStorageDtypes = {torch::kFloat, torch::kHalf, torch::kBFloat16, torch::kDouble,
                                                       torch::kLong,  torch::kInt,  torch::kShort,    torch::kChar,
                                                       torch::kByte,  torch::kBool};

CheckpointDict every_dtype() {
  CheckpointDict checkpoint;
  for (torch::ScalarType dtype : kStorageDtypes)
    checkpoint.emplace_back(c10::toString(dtype), test_tensor({2, 3}, dtype, 1));
  return checkpoint;
}

void expect_same_tensors(const std::map<std::string, torch::Tensor>& actual, const CheckpointDict& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& [name, value] : expected) {
    const torch::Tensor& tensor = std::get<torch::Tensor>(value.content);
    ASSERT_EQ(actual.count(name), 1u) << name;
    EXPECT_EQ(actual.at(name).scalar_type(), tensor.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(actual.at(name), tensor)) << name;
  }
}

TEST_F(TorchFileTest, ReadsZipCheckpointsWithAnyFolderName) {
  for (const std::string folder : {"archive", "model", "net_g_20000", "4x-Some Model.v2"}) {
    const std::string path = write("folder.pth", test::torch_zip_checkpoint(every_dtype(), folder));
    const MappedFile file(path);
    const ZipArchive archive(file);
    EXPECT_TRUE(is_torch_checkpoint_archive(archive));
    EXPECT_FALSE(is_torchscript_archive(archive));
    expect_same_tensors(read_zip(path), every_dtype());
  }
}

TEST_F(TorchFileTest, ReadsLegacyCheckpoints) {
  const std::string bytes = test::torch_legacy_checkpoint(every_dtype());
  const std::string path = write("legacy.pth", bytes);
  EXPECT_TRUE(has_legacy_torch_magic({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}));
  expect_same_tensors(read_legacy(path), every_dtype());
}

TEST_F(TorchFileTest, LegacyMagicNeedsTheWholeMagicNumber) {
  const std::string bytes = test::torch_legacy_checkpoint(every_dtype());
  for (size_t length = 0; length < 14; ++length)
    EXPECT_FALSE(has_legacy_torch_magic({reinterpret_cast<const uint8_t*>(bytes.data()), length}));
  std::string wrong = bytes;
  wrong[8] = 0;
  EXPECT_FALSE(has_legacy_torch_magic({reinterpret_cast<const uint8_t*>(wrong.data()), wrong.size()}));
}

TEST_F(TorchFileTest, RefusesTorchScriptArchivesListingTheirEntries) {
  ZipBuilder zip;
  zip.add("x/data.pkl", "\x80\x02}.").add("x/constants.pkl", "\x80\x02).").add("x/code/__torch__/model.py", "");
  for (int i = 0; i < 12; ++i) zip.add("x/data/" + std::to_string(i), "");
  const std::string path = write("scripted.pt", zip.build());
  const MappedFile file(path);
  const ZipArchive archive(file);
  EXPECT_TRUE(is_torchscript_archive(archive));
  EXPECT_FALSE(is_torch_checkpoint_archive(archive));
  expect_error([&] { read_torch_zip_checkpoint(archive); }, path,
               "is a TorchScript archive (torch.jit.save), which holds code that uprez does not run");
  expect_error([&] { read_torch_zip_checkpoint(archive); }, path,
               "archive entries: x/data.pkl, x/constants.pkl, x/code/__torch__/model.py, x/data/0");
  expect_error([&] { read_torch_zip_checkpoint(archive); }, path, "and 5 more)");
}

TEST_F(TorchFileTest, RefusesZipFilesThatAreNotCheckpoints) {
  const std::string path = write("photos.zip", ZipBuilder().add("holiday/beach.jpg", "jpeg").build());
  const MappedFile file(path);
  const ZipArchive archive(file);
  EXPECT_FALSE(is_torch_checkpoint_archive(archive));
  expect_error([&] { read_torch_zip_checkpoint(archive); }, path,
               "not a PyTorch checkpoint: it has no <folder>/data.pkl (archive entries: holiday/beach.jpg)");
}

TEST_F(TorchFileTest, RefusesInconsistentStorageEntries) {
  const CheckpointDict checkpoint = {{"weight", test_tensor({4})}};
  const std::string pickle = test::CheckpointPickler(false).pickle(checkpoint);

  const std::string missing = write("missing.pth", ZipBuilder().add("a/data.pkl", pickle).build());
  expect_error([&] { read_zip(missing); }, missing, "references storage '0' but the archive has no entry 'a/data/0'");

  const std::string short_storage =
      write("short.pth", ZipBuilder().add("a/data.pkl", pickle).add("a/data/0", std::string(12, '\0')).build());
  expect_error([&] { read_zip(short_storage); }, short_storage,
               "storage entry 'a/data/0' holds 12 bytes, but the checkpoint expects 4 elements of Float (16 bytes)");

  const std::string big_endian = write(
      "big_endian.pth",
      ZipBuilder().add("a/data.pkl", pickle).add("a/byteorder", "big").add("a/data/0", std::string(16, '\0')).build());
  expect_error([&] { read_zip(big_endian); }, big_endian, "not little-endian");
}

TEST_F(TorchFileTest, ReadsDeflatedCheckpoints) {
  const CheckpointDict checkpoint = {{"weight", test_tensor({64})}};
  const std::string pickle = test::CheckpointPickler(false).pickle(checkpoint);
  const std::string path = write(
      "deflated.pth",
      ZipBuilder().add("a/data.pkl", pickle, true).add("a/data/0", test::tensor_bytes(test_tensor({64})), true).build());
  expect_same_tensors(read_zip(path), checkpoint);
}

TEST_F(TorchFileTest, SharedStoragesAreLoadedOnce) {
  // Two tensors that name the same storage key share their data, as torch.save writes tied weights.
  test::PickleWriter writer;
  writer.proto(2).empty_dict();
  for (const std::string name : {"a", "b"}) {
    writer.str(name).global("torch._utils", "_rebuild_tensor").mark();
    writer.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(4).tuple().binpersid();
    writer.integer(0).mark().integer(4).tuple().mark().integer(1).tuple().tuple().reduce().set_item();
  }
  writer.stop();
  const std::string path = write(
      "tied.pth",
      ZipBuilder().add("a/data.pkl", writer.bytes()).add("a/data/0", test::tensor_bytes(test_tensor({4}))).build());
  const std::map<std::string, torch::Tensor> tensors = read_zip(path);
  EXPECT_EQ(tensors.at("a").data_ptr(), tensors.at("b").data_ptr());
}

TEST_F(TorchFileTest, LegacyFileTruncatedInStorageDataIsAnError) {
  const std::string bytes = test::torch_legacy_checkpoint(every_dtype());
  const size_t data_bytes = [] {
    size_t total = 0;
    for (const auto& entry : every_dtype()) total += 8 + std::get<torch::Tensor>(entry.second.content).nbytes();
    return total;
  }();
  for (size_t cut = 1; cut <= data_bytes; cut += 7) {
    const std::string path = write("truncated_legacy.pth", bytes.substr(0, bytes.size() - cut));
    expect_error([&] { read_legacy(path); }, path, "truncated legacy torch.save file (storage data)");
  }
}

TEST_F(TorchFileTest, LegacyFileTruncatedAnywhereIsAnError) {
  const std::string bytes = test::torch_legacy_checkpoint({{"weight", test_tensor({3})}});
  for (size_t length = 0; length < bytes.size(); ++length) {
    const std::string path = write("cut_legacy.pth", bytes.substr(0, length));
    expect_error([&] { read_legacy(path); }, path);
  }
}

TEST_F(TorchFileTest, LegacyStoragesMayNotClaimMoreThanTheFileHolds) {
  std::string bytes = test::torch_legacy_checkpoint({{"weight", test_tensor({3})}});
  // The element count of the persistent id is the BININT after the "cpu" location string.
  const size_t count_field = bytes.find("cpu") + 3;
  ASSERT_EQ(bytes[count_field], 'J');
  test::store_le(bytes, count_field + 1, 0x7fffffff, 4);
  const std::string path = write("greedy_legacy.pth", bytes);
  expect_error([&] { read_legacy(path); }, path, "its storages claim more bytes than the file holds");
}

TEST_F(TorchFileTest, LegacyElementCountMustMatch) {
  std::string bytes = test::torch_legacy_checkpoint({{"weight", test_tensor({3})}});
  test::store_le(bytes, bytes.size() - 3 * 4 - 8, 2, 8);  // the storage's element count before its data
  const std::string path = write("count_legacy.pth", bytes);
  expect_error([&] { read_legacy(path); }, path, "storage '0' has 2 elements in the file but 3 in the checkpoint");
}

TEST_F(TorchFileTest, RealLegacyFileLoads) {
  const std::string path = test::models_root() + "/pytorch/dncnn/dncnn_25.pth";
  UPREZ_REQUIRE_PATH(path);
  const MappedFile file(path);
  ASSERT_TRUE(has_legacy_torch_magic(file.bytes()));
  const std::map<std::string, torch::Tensor> tensors = read_legacy(path);
  ASSERT_EQ(tensors.count("model.0.weight"), 1u);
  // Stored with strides (9, 9, 3, 1), which the loader keeps.
  EXPECT_EQ(tensors.at("model.0.weight").sizes(), torch::IntArrayRef({64, 1, 3, 3}));
  EXPECT_EQ(tensors.at("model.0.weight").strides(), torch::IntArrayRef({9, 9, 3, 1}));
}

}  // namespace torch_file_test
}  // namespace uprez
