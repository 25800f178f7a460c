// load_state_dict and detect_model_file_format end to end: every fixture and real model file, spandrel's
// canonicalization for every wrapping, detection from the bytes alone, and a clear one-line Error naming the
// file for every kind of missing, foreign, corrupt or malicious file.
#include "io/model_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "model_file_builders.h"
#include "support/fixtures.h"

namespace uprez {
namespace model_file_test {

namespace fs = std::filesystem;
using test::CheckpointDict;
using test::expect_error;
using test::test_tensor;

const char* format_name(ModelFileFormat format) {
  switch (format) {
    case ModelFileFormat::TorchZip: return "TorchZip";
    case ModelFileFormat::TorchLegacy: return "TorchLegacy";
    case ModelFileFormat::TorchScript: return "TorchScript";
    case ModelFileFormat::Safetensors: return "Safetensors";
    case ModelFileFormat::Unknown: return "Unknown";
  }
  return "?";
}

// Checks what every canonical state dict satisfies: tensors on the CPU, no common prefix left.
void expect_canonical(const StateDict& state_dict, const std::string& path) {
  EXPECT_GT(state_dict.size(), 0u) << path;
  for (const std::string& key : state_dict.keys()) {
    EXPECT_NE(key.rfind("module.", 0), 0u) << path << ": " << key;
    EXPECT_NE(key.rfind("netG.", 0), 0u) << path << ": " << key;
    EXPECT_EQ(state_dict.at(key).device().type(), torch::kCPU) << path << ": " << key;
  }
}

// --- the shared reference data ---------------------------------------------------------------------------------

TEST(ModelFileFixtures, EveryFixtureModelLoadsCanonically) {
  const std::string root = test::fixtures_root() + "/spandrel";
  UPREZ_REQUIRE_PATH(root + "/index.json");
  std::ifstream index_file(root + "/index.json");
  const nlohmann::json index = nlohmann::json::parse(index_file);
  ASSERT_GT(index["cases"].size(), 0u);
  for (const nlohmann::json& entry : index["cases"]) {
    const std::string path = root + "/" + entry["model_file"].get<std::string>();
    SCOPED_TRACE(path);
    std::ifstream meta_file(root + "/" + entry["path"].get<std::string>() + "/meta.json");
    const nlohmann::json meta = nlohmann::json::parse(meta_file);
    const std::string wrapping = meta["wrapping"];

    const ModelFileFormat expected_format = fs::path(path).extension() == ".safetensors" ? ModelFileFormat::Safetensors
                                            : wrapping == "legacy" ? ModelFileFormat::TorchLegacy
                                                                   : ModelFileFormat::TorchZip;
    EXPECT_STREQ(format_name(detect_model_file_format(path)), format_name(expected_format));

    const StateDict state_dict = load_state_dict(path);
    expect_canonical(state_dict, path);
    // Weights are all stored in the file's float dtype, and they include every parameter of the model.
    const torch::ScalarType stored_dtype = meta["stored_dtype"] == "float16" ? torch::kHalf : torch::kFloat;
    for (const std::string& key : state_dict.keys()) {
      if (torch::isFloatingType(state_dict.at(key).scalar_type())) {
        EXPECT_EQ(state_dict.at(key).scalar_type(), stored_dtype) << key;
      }
    }
    EXPECT_GE(state_dict.parameter_count(), meta["num_parameters"].get<int64_t>());
    if (wrapping == "model-prefix") {  // not one of spandrel's common prefixes: the GRL loader removes it
      for (const std::string& key : state_dict.keys()) EXPECT_EQ(key.rfind("model.", 0), 0u) << key;
    }
  }
}

TEST(ModelFileFixtures, RealModelsLoad) {
  const std::string root = test::models_root() + "/pytorch";
  UPREZ_REQUIRE_PATH(root);
  size_t files = 0;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    const std::string path = entry.path().string();
    SCOPED_TRACE(path);
    const StateDict state_dict = load_state_dict(path);
    expect_canonical(state_dict, path);
    if (path.find(".fp16.safetensors") != std::string::npos) {
      EXPECT_EQ(state_dict.at(state_dict.keys().front()).scalar_type(), torch::kHalf);
    }
    ++files;
  }
  EXPECT_GT(files, 0u);
  const std::string legacy = root + "/dncnn/dncnn_25.pth";
  if (fs::exists(legacy)) {
    EXPECT_EQ(detect_model_file_format(legacy), ModelFileFormat::TorchLegacy);
  }
}

// --- canonicalization -----------------------------------------------------------------------------------------

// Keys in name order, which is also the order safetensors files list them in.
CheckpointDict weights(double start = 0) {
  return {{"conv.bias", test_tensor({4}, torch::kFloat, start)},
          {"conv.weight", test_tensor({4, 3, 3, 3}, torch::kFloat, start)},
          {"upsample.0.weight", test_tensor({12, 4, 3, 3}, torch::kFloat, start)}};
}

CheckpointDict prefixed(const std::string& prefix, const CheckpointDict& dict) {
  CheckpointDict result;
  for (const auto& [key, value] : dict) result.emplace_back(prefix + key, value);
  return result;
}

std::vector<std::pair<std::string, torch::Tensor>> as_tensor_list(const CheckpointDict& dict) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& [key, value] : dict) tensors.emplace_back(key, std::get<torch::Tensor>(value.content));
  return tensors;
}

class ModelFileTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    test::write_file(path, bytes);
    return path;
  }

  // Loads `bytes` and checks that the result equals `expected` (keys in order, dtypes, values).
  void expect_loads_as(const std::string& name, const std::string& bytes, const CheckpointDict& expected) {
    SCOPED_TRACE(name);
    const StateDict state_dict = load_state_dict(write(name, bytes));
    std::vector<std::string> expected_keys;
    for (const auto& [key, value] : expected) {
      expected_keys.push_back(key);
      ASSERT_TRUE(state_dict.contains(key)) << key;
      const torch::Tensor& tensor = std::get<torch::Tensor>(value.content);
      EXPECT_EQ(state_dict.at(key).scalar_type(), tensor.scalar_type()) << key;
      EXPECT_TRUE(torch::equal(state_dict.at(key), tensor)) << key;
    }
    EXPECT_EQ(state_dict.keys(), expected_keys);
  }

  std::string dir_ = test::temp_dir();
};

TEST_F(ModelFileTest, EveryWrappingGivesTheSameStateDict) {
  const CheckpointDict plain = weights();
  std::vector<std::pair<std::string, std::string>> files = {
      {"plain.pth", test::torch_zip_checkpoint(plain)},
      {"model.pt", test::torch_zip_checkpoint(plain, "model")},
      {"legacy.pth", test::torch_legacy_checkpoint(plain)},
      {"model.safetensors", test::safetensors_parts(as_tensor_list(plain)).assemble()},
      {"prefixed.safetensors", test::safetensors_parts(as_tensor_list(prefixed("module.", plain))).assemble()},
      {"lightning.ckpt", test::torch_zip_checkpoint({{"epoch", int64_t{3}},
                                                     {"global_step", int64_t{1200}},
                                                     {"pytorch-lightning_version", "1.9.0"},
                                                     {"state_dict", plain}})},
      {"single-key.pth", test::torch_zip_checkpoint({{"generator", plain}})},
      {"module-prefix.pth", test::torch_zip_checkpoint(prefixed("module.", plain))},
      {"netG-prefix.pth", test::torch_zip_checkpoint(prefixed("netG.", plain))},
      {"module-netG-prefix.pth", test::torch_zip_checkpoint(prefixed("module.netG.", plain))},
      {"legacy-module-prefix.pth", test::torch_legacy_checkpoint({{"params_ema", prefixed("module.", plain)}})},
      {"wrapped-single-key.pth", test::torch_zip_checkpoint({{"state_dict", CheckpointDict{{"generator", plain}}}})},
  };
  for (const std::string key : {"model_state_dict", "state_dict", "params_ema", "params-ema", "params", "model", "net"})
    files.emplace_back(key + ".pth", test::torch_zip_checkpoint({{"iteration", int64_t{5}}, {key, plain}}));
  for (const auto& [name, bytes] : files) expect_loads_as(name, bytes, plain);
}

TEST_F(ModelFileTest, ParamsEmaWinsOverParams) {
  const CheckpointDict params = weights(100), params_ema = weights(200);
  expect_loads_as("params_first.pth", test::torch_zip_checkpoint({{"params", params}, {"params_ema", params_ema}}),
                  params_ema);
  expect_loads_as("ema_first.pth", test::torch_zip_checkpoint({{"params_ema", params_ema}, {"params", params}}),
                  params_ema);
}

TEST_F(ModelFileTest, WrapperKeysAreTriedInSpandrelsOrder) {
  const std::vector<std::string> order = {"model_state_dict", "state_dict", "params_ema", "params-ema",
                                          "params",           "model",      "net"};
  // With the keys present in reverse order, the one listed first in `order` must still win.
  for (size_t first = 0; first < order.size(); ++first) {
    CheckpointDict checkpoint;
    for (size_t i = order.size(); i-- > first;)
      checkpoint.emplace_back(order[i], prefixed(order[i] + ".", weights(static_cast<double>(i))));
    expect_loads_as(order[first] + "_wins.pth", test::torch_zip_checkpoint(checkpoint),
                    prefixed(order[first] + ".", weights(static_cast<double>(first))));
  }
}

TEST_F(ModelFileTest, WrapperKeyThatIsNotADictIsNotUnwrapped) {
  const CheckpointDict checkpoint = {{"model", "RRDBNet"}, {"net", int64_t{4}}, {"conv.weight", test_tensor({2})}};
  expect_loads_as("not_a_dict.pth", test::torch_zip_checkpoint(checkpoint), {{"conv.weight", test_tensor({2})}});
}

TEST_F(ModelFileTest, SingleEntryIsUnwrappedOnlyWhenItIsADict) {
  expect_loads_as("single_tensor.pth", test::torch_zip_checkpoint({{"weight", test_tensor({2})}}),
                  {{"weight", test_tensor({2})}});
}

TEST_F(ModelFileTest, PrefixesAreRemovedOnlyWhenEveryKeyHasThem) {
  const torch::Tensor t = test_tensor({2});
  expect_loads_as("mixed.pth", test::torch_zip_checkpoint({{"module.a", t}, {"b", t}}), {{"module.a", t}, {"b", t}});
  // Non-tensor entries count for the prefix but are skipped.
  expect_loads_as("with_int.pth", test::torch_zip_checkpoint({{"module.a", t}, {"step", int64_t{1}}}),
                  {{"module.a", t}});
  expect_loads_as("prefixed_int.pth", test::torch_zip_checkpoint({{"module.a", t}, {"module.step", int64_t{1}}}),
                  {{"a", t}});
  // "module." is tried before "netG.", once each.
  expect_loads_as("netG_module.pth", test::torch_zip_checkpoint({{"netG.module.a", t}}), {{"module.a", t}});
  expect_loads_as("module_module.pth", test::torch_zip_checkpoint({{"module.module.a", t}, {"module.module.b", t}}),
                  {{"module.a", t}, {"module.b", t}});
  expect_loads_as("model_prefix.pth", test::torch_zip_checkpoint({{"model.a", t}, {"model.b", t}}),
                  {{"model.a", t}, {"model.b", t}});
}

TEST_F(ModelFileTest, KeepsStoredDtypes) {
  const CheckpointDict mixed = {{"half", test_tensor({3}, torch::kHalf)},
                                {"bfloat16", test_tensor({3}, torch::kBFloat16)},
                                {"index", test_tensor({3}, torch::kLong)},
                                {"mask", test_tensor({3}, torch::kBool)}};
  expect_loads_as("mixed.pth", test::torch_zip_checkpoint(mixed), mixed);
  expect_loads_as("mixed_legacy.pth", test::torch_legacy_checkpoint(mixed), mixed);
  std::vector<std::pair<std::string, torch::Tensor>> sorted = as_tensor_list(mixed);
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  CheckpointDict sorted_dict;
  for (const auto& [key, tensor] : sorted) sorted_dict.emplace_back(key, tensor);
  expect_loads_as("mixed.safetensors", test::safetensors_parts(sorted).assemble(), sorted_dict);
}

// --- detection -------------------------------------------------------------------------------------------------

TEST_F(ModelFileTest, DetectionIgnoresTheExtension) {
  const CheckpointDict plain = weights();
  test::ZipBuilder torchscript;
  torchscript.add("m/data.pkl", "").add("m/constants.pkl", "").add("m/code/__torch__.py", "");
  const std::vector<std::tuple<std::string, std::string, ModelFileFormat>> cases = {
      {"safetensors.pth", test::safetensors_parts(as_tensor_list(plain)).assemble(), ModelFileFormat::Safetensors},
      {"zip.safetensors", test::torch_zip_checkpoint(plain), ModelFileFormat::TorchZip},
      {"legacy.ckpt", test::torch_legacy_checkpoint(plain), ModelFileFormat::TorchLegacy},
      {"legacy.safetensors", test::torch_legacy_checkpoint(plain), ModelFileFormat::TorchLegacy},
      {"scripted.pth", torchscript.build(), ModelFileFormat::TorchScript},
      {"photos.pth", test::ZipBuilder().add("a.jpg", "").build(), ModelFileFormat::Unknown},
      {"notes.safetensors", "just some text", ModelFileFormat::Unknown},
      {"empty.pth", "", ModelFileFormat::Unknown},
  };
  for (const auto& [name, bytes, format] : cases) {
    const std::string path = write(name, bytes);
    EXPECT_STREQ(format_name(detect_model_file_format(path)), format_name(format)) << name;
    if (format == ModelFileFormat::TorchZip || format == ModelFileFormat::TorchLegacy ||
        format == ModelFileFormat::Safetensors)
      expect_loads_as(name, bytes, plain);
  }
}

TEST_F(ModelFileTest, FixtureSafetensorsCopiedToPthIsStillSafetensors) {
  const std::string source = test::fixtures_root() + "/spandrel/Compact/x1_gray_nf8_nc2_safetensors/model.safetensors";
  UPREZ_REQUIRE_PATH(source);
  const std::string copy = dir_ + "/x.pth";
  fs::copy_file(source, copy);
  EXPECT_EQ(detect_model_file_format(copy), ModelFileFormat::Safetensors);
  const StateDict original = load_state_dict(source), copied = load_state_dict(copy);
  EXPECT_EQ(copied.keys(), original.keys());
  for (const std::string& key : original.keys()) EXPECT_TRUE(torch::equal(copied.at(key), original.at(key))) << key;
}

// --- errors ----------------------------------------------------------------------------------------------------

TEST_F(ModelFileTest, MissingOrUnreadablePathsAreErrors) {
  const std::string missing = dir_ + "/missing.pth";
  expect_error([&] { load_state_dict(missing); }, missing, "cannot open the file: No such file or directory");
  expect_error([&] { detect_model_file_format(missing); }, missing, "No such file or directory");
  expect_error([&] { load_state_dict(dir_); }, dir_, "is a directory");
}

TEST_F(ModelFileTest, EmptyFileIsAnError) {
  const std::string path = write("empty.pth", "");
  expect_error([&] { load_state_dict(path); }, path, "the file is empty");
}

TEST_F(ModelFileTest, ForeignFilesAreNotModelFilesAndShowTheirFirstBytes) {
  const std::string lfs = write("lfs.pth", "version https://git-lfs.github.com/spec/v1\noid sha256:0\n");
  expect_error([&] { load_state_dict(lfs); }, lfs,
               ": not a model file: expected a PyTorch checkpoint (.pth/.pt/.ckpt) or a safetensors file, but it "
               "starts with 76 65 72 73 69 6f 6e 20 68 74 74 70 73 3a 2f 2f ... (\"version https://\")");
  const std::string png = write("image.pth", std::string("\x89PNG\r\n\x1a\n", 8));
  expect_error([&] { load_state_dict(png); }, png, "starts with 89 50 4e 47 0d 0a 1a 0a (\".PNG....\")");

  std::mt19937 random(99);
  std::string noise(4096, '\0');
  for (char& byte : noise) byte = static_cast<char>(random());
  noise[0] = 'x';  // not a zip, pickle or plausible safetensors header
  const std::string random_path = write("random.pth", noise);
  expect_error([&] { load_state_dict(random_path); }, random_path, "not a model file");

  const std::string photos = write("photos.pth", test::ZipBuilder().add("trip/a.jpg", "").build());
  expect_error([&] { load_state_dict(photos); }, photos, "is a zip archive but not a PyTorch checkpoint");
}

TEST_F(ModelFileTest, TorchScriptIsRefusedListingTheEntries) {
  test::ZipBuilder zip;
  zip.add("x/data.pkl", "").add("x/constants.pkl", "").add("x/code/__torch__/model.py", "").add("x/version", "3");
  const std::string path = write("scripted.pt", zip.build());
  expect_error([&] { load_state_dict(path); }, path,
               "is a TorchScript archive (torch.jit.save), which holds code that uprez does not run; save the "
               "model's state_dict with torch.save instead (archive entries: x/data.pkl, x/constants.pkl, "
               "x/code/__torch__/model.py, x/version)");
}

TEST_F(ModelFileTest, ForbiddenGlobalIsRefused) {
  test::PickleWriter pickle;
  pickle.proto(2).global("os", "system").str("echo pwned").op(0x85).reduce().stop();
  const std::string path = write("malicious.pth", test::ZipBuilder().add("archive/data.pkl", pickle.bytes()).build());
  try {
    load_state_dict(path);
    ADD_FAILURE() << "the forbidden global was accepted";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()),
              path + ": refusing to load: the model file references the Python global 'os.system', which uprez "
                     "does not execute");
  }
}

TEST_F(ModelFileTest, CheckpointsWithoutTensorsAreErrors) {
  const std::string no_tensors =
      write("no_tensors.pth", test::torch_zip_checkpoint({{"epoch", int64_t{1}}, {"name", "run-1"}}));
  expect_error([&] { load_state_dict(no_tensors); }, no_tensors,
               "no tensors found in the checkpoint (its top-level keys: epoch, name)");

  const std::string metadata_only = write("metadata_only.safetensors", test::safetensors_parts({}).assemble());
  expect_error([&] { load_state_dict(metadata_only); }, metadata_only, "no tensors found in the safetensors file");

  test::PickleWriter list;
  list.proto(2).empty_list().stop();
  const std::string top_level_list = write("list.pth", test::ZipBuilder().add("a/data.pkl", list.bytes()).build());
  expect_error([&] { load_state_dict(top_level_list); }, top_level_list, "the checkpoint holds a list, not a dict");
}

TEST_F(ModelFileTest, TruncatedOrDamagedCheckpointsAreErrors) {
  const std::string zip = test::torch_zip_checkpoint(weights());
  for (size_t cut = 1; cut < zip.size(); cut += zip.size() / 40) {
    const std::string path = write("truncated.pth", zip.substr(0, zip.size() - cut));
    expect_error([&] { load_state_dict(path); }, path);
  }
  std::string bogus_directory_size = zip;
  test::store_le(bogus_directory_size, zip.size() - 22 - 20 - 56 + 40, uint64_t{1} << 40, 8);  // zip64 record
  const std::string bogus = write("bogus_directory.pth", bogus_directory_size);
  expect_error([&] { load_state_dict(bogus); }, bogus, "central directory");

  const std::string legacy = test::torch_legacy_checkpoint(weights());
  const std::string cut_legacy = write("truncated_legacy.pth", legacy.substr(0, legacy.size() - 100));
  expect_error([&] { load_state_dict(cut_legacy); }, cut_legacy, "truncated legacy torch.save file");
}

TEST_F(ModelFileTest, RandomCorruptionOfEveryFormatNeverCrashes) {
  const CheckpointDict checkpoint = {{"params_ema", weights()}, {"step", int64_t{7}}};
  const std::vector<std::string> valid_files = {
      test::torch_zip_checkpoint(checkpoint), test::torch_legacy_checkpoint(checkpoint),
      test::safetensors_parts(as_tensor_list(weights())).assemble()};
  std::mt19937 random(2024);
  for (const std::string& valid : valid_files) {
    for (int trial = 0; trial < 1500; ++trial) {
      std::string bytes = valid;
      // Damage the structure rather than tensor data: most of each file's bytes are the weights.
      const size_t region = trial % 2 ? bytes.size() : std::min<size_t>(bytes.size(), 600);
      for (int i = 0; i <= trial % 4; ++i) {
        const size_t position = trial % 3 == 2 ? bytes.size() - 1 - random() % region : random() % region;
        bytes[position] = static_cast<char>(random());
      }
      const std::string path = write("fuzz.pth", bytes);
      try {
        load_state_dict(path);
      } catch (const Error& error) {
        EXPECT_EQ(std::string(error.what()).rfind(path, 0), 0u) << error.what();
      }
    }
  }
}

}  // namespace model_file_test
}  // namespace uprez
