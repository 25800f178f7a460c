// ModelFolder and the Hugging Face cache lookup: the fixture model folders (safetensors and .bin), variants,
// sharded checkpoints, fake cache layouts found through HF_HUB_CACHE / HF_HOME, and every error they give.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <utility>
#include <vector>
#include <optional>

#include "diffusion/model/hf_cache.h"
#include "diffusion/model/model_folder.h"
#include "io/safetensors_writer.h"
#include "support/error_message.h"
#include "support/fixtures.h"

namespace uprez {
namespace model_folder_test {
namespace fs = std::filesystem;

const char* const kCommit = "0123456789abcdef0123456789abcdef01234567";
const char* const kOtherCommit = "fedcba9876543210fedcba9876543210fedcba98";

std::string fixture_model(const std::string& name) { return test::fixtures_root() + "/diffusion/models/" + name; }

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

// Sets (or, with nullptr, unsets) an environment variable for the scope, then restores the old value.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) setenv(name, value, 1);
    else unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_) setenv(name_.c_str(), old_->c_str(), 1);
    else unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

using Settings = std::vector<std::pair<const char*, std::string>>;

// The hub cache variables cleared, then `settings` made, for the scope.
class HubEnv {
 public:
  explicit HubEnv(const Settings& settings) {
    for (const auto& [name, value] : settings) set_.push_back(std::make_unique<ScopedEnv>(name, value.c_str()));
  }

 private:
  ScopedEnv hub_{"HF_HUB_CACHE", nullptr}, legacy_{"HUGGINGFACE_HUB_CACHE", nullptr}, home_{"HF_HOME", nullptr},
      xdg_{"XDG_CACHE_HOME", nullptr};
  std::vector<std::unique_ptr<ScopedEnv>> set_;
};

// "name.ext" → "name.<variant>.ext" for weights files; other names unchanged.
std::string variant_name(const std::string& name, const std::string& variant) {
  const fs::path path(name);
  const std::string ext = path.extension().string();
  if (variant.empty() || (ext != ".safetensors" && ext != ".bin")) return name;
  return path.stem().string() + "." + variant + ext;
}

// A model folder at `dest` made of symlinks to `source`'s files, weights renamed for `variant`.
void mirror_model(const std::string& source, const std::string& dest, const std::string& variant = "") {
  fs::create_directories(dest);
  for (const fs::directory_entry& entry : fs::directory_iterator(source)) {
    const std::string name = entry.path().filename().string();
    if (!entry.is_directory()) {
      fs::create_symlink(entry.path(), dest + "/" + name);
      continue;
    }
    fs::create_directory(dest + "/" + name);
    for (const fs::directory_entry& file : fs::directory_iterator(entry.path()))
      fs::create_symlink(file.path(), dest + "/" + name + "/" + variant_name(file.path().filename().string(), variant));
  }
}

void expect_same_weights(const StateDict& a, const StateDict& b) {
  ASSERT_EQ(a.size(), b.size());
  for (const std::string& name : a.keys()) {
    ASSERT_TRUE(b.contains(name)) << name;
    EXPECT_EQ(a.at(name).dtype(), b.at(name).dtype()) << name;
    EXPECT_TRUE(torch::equal(a.at(name), b.at(name))) << name;
  }
}

ModelFolder open_folder(const std::string& model, const std::string& variant = "", const std::string& revision = "") {
  return ModelFolder::open(ModelLocation{model, revision, variant});
}

TEST(ModelFolder, OpensAFolderWithItsIndexAndConfigs) {
  UPREZ_REQUIRE_PATH(fixture_model("x4_tiny"));
  const ModelFolder folder = open_folder(fixture_model("x4_tiny") + "/");
  EXPECT_EQ(folder.root(), fixture_model("x4_tiny"));
  EXPECT_EQ(folder.model_index().at("_class_name"), "StableDiffusionUpscalePipeline");
  EXPECT_EQ(folder.component_class("unet"), "UNet2DConditionModel");
  EXPECT_EQ(folder.component_class("low_res_scheduler"), "DDPMScheduler");
  EXPECT_EQ(folder.component_dir("vae"), fixture_model("x4_tiny") + "/vae");
  EXPECT_EQ(folder.config("unet").path(), fixture_model("x4_tiny") + "/unet/config.json");
  JsonConfig scheduler = folder.config("scheduler", "scheduler_config.json");
  EXPECT_TRUE(scheduler.has("num_train_timesteps"));
}

TEST(ModelFolder, ComponentErrorsNameTheComponent) {
  UPREZ_REQUIRE_PATH(fixture_model("x4_tiny"));
  const ModelFolder folder = open_folder(fixture_model("x4_tiny"));
  const std::string index = fixture_model("x4_tiny") + "/model_index.json";
  EXPECT_EQ(test::error_message_of([&] { folder.component_class("feature_extractor"); }),
            index + ": component \"feature_extractor\" is null (this model has none)");
  EXPECT_EQ(test::error_message_of([&] { folder.component_class("controlnet"); }),
            index + ": component \"controlnet\" is not listed");
  EXPECT_EQ(test::error_message_of([&] { folder.component_class("max_noise_level"); }),
            index + ": component \"max_noise_level\" must be [\"library\", \"Class\"], not 350");
  const std::string missing = "safety_checker: component folder missing: no folder " + fixture_model("x4_tiny") +
                              "/safety_checker";
  EXPECT_EQ(test::error_message_of([&] { folder.component_dir("safety_checker"); }), missing);
  EXPECT_EQ(test::error_message_of([&] { folder.weights("safety_checker"); }), missing);
  EXPECT_TRUE(contains(test::error_message_of([&] { folder.config("tokenizer"); }), "tokenizer/config.json"));
}

TEST(ModelFolder, SafetensorsAndBinFoldersHoldTheSameWeights) {
  UPREZ_REQUIRE_PATH(fixture_model("x4_tiny"));
  UPREZ_REQUIRE_PATH(fixture_model("x4_tiny_bin"));
  const ModelFolder safetensors = open_folder(fixture_model("x4_tiny"));
  const ModelFolder bin = open_folder(fixture_model("x4_tiny_bin"));
  for (const char* component : {"unet", "vae", "text_encoder"}) {
    SCOPED_TRACE(component);
    const StateDict weights = safetensors.weights(component);
    EXPECT_FALSE(weights.empty());
    expect_same_weights(weights, bin.weights(component));
  }
}

TEST(ModelFolder, VariantPicksTheVariantFiles) {
  UPREZ_REQUIRE_PATH(fixture_model("x4_tiny"));
  const std::string dir = test::temp_dir() + "/model";
  mirror_model(fixture_model("x4_tiny"), dir, "fp16");
  const ModelFolder plain = open_folder(fixture_model("x4_tiny"));
  const ModelFolder fp16 = open_folder(dir, "fp16");
  for (const char* component : {"unet", "vae", "text_encoder"})
    expect_same_weights(fp16.weights(component), plain.weights(component));

  EXPECT_EQ(test::error_message_of([&] { open_folder(dir).weights("vae"); }),
            "vae: no weights in " + dir + "/vae: no diffusion_pytorch_model, model or pytorch_model with "
            ".safetensors or .bin, single or sharded (variants present: fp16; pick one with --variant)");
  EXPECT_EQ(test::error_message_of([&] { open_folder(dir, "ema").weights("vae"); }),
            "vae: no weights in " + dir + "/vae: no diffusion_pytorch_model, model or pytorch_model with "
            ".ema.safetensors or .ema.bin, single or sharded (variants present: fp16)");
  EXPECT_EQ(test::error_message_of([&] { open_folder(fixture_model("x4_tiny"), "fp16").weights("unet"); }),
            "unet: no weights in " + fixture_model("x4_tiny") + "/unet: no diffusion_pytorch_model, model or "
            "pytorch_model with .fp16.safetensors or .fp16.bin, single or sharded (variants present: none; the plain "
            "weights are there: leave out --variant)");
  EXPECT_EQ(test::error_message_of([&] { open_folder(dir, "../fp16"); }),
            "--variant \"../fp16\": a variant is a name of letters, digits, '_' and '-' (e.g. fp16)");
}

TEST(ModelFolder, TwoWeightsStemsAreAnError) {
  UPREZ_REQUIRE_PATH(fixture_model("x4_tiny"));
  const std::string dir = test::temp_dir() + "/model";
  mirror_model(fixture_model("x4_tiny"), dir);
  fs::create_symlink(fixture_model("x4_tiny") + "/text_encoder/model.safetensors", dir + "/vae/model.safetensors");
  EXPECT_EQ(test::error_message_of([&] { open_folder(dir).weights("vae"); }),
            "vae: two weights files in " + dir + "/vae, diffusion_pytorch_model.safetensors and model.safetensors; "
            "remove the one that does not belong");
}

// Writes `weights` as two shards "<prefix>-0000N-of-00002.safetensors" (alternate tensors) and their index.
void write_sharded(const StateDict& weights, const std::string& dir, const std::string& prefix,
                   const std::string& index_name) {
  NamedTensors shards[2];
  nlohmann::json map = nlohmann::json::object();
  for (size_t i = 0; i < weights.size(); ++i) {
    const std::string& name = weights.keys()[i];
    shards[i % 2].emplace_back(name, weights.at(name));
    map[name] = prefix + "-0000" + std::to_string(i % 2 + 1) + "-of-00002.safetensors";
  }
  for (int i = 0; i < 2; ++i)
    write_safetensors(dir + "/" + prefix + "-0000" + std::to_string(i + 1) + "-of-00002.safetensors", shards[i], {});
  const nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", map}};
  write_text(dir + "/" + index_name, index.dump(2));
}

// A copy of x4_tiny whose vae is sharded (index `index_name`, shards `prefix`-*); returns the model folder.
std::string sharded_model(const std::string& prefix, const std::string& index_name) {
  const std::string dir = test::temp_dir() + "/model";
  fs::create_directories(dir + "/vae");
  fs::create_symlink(fixture_model("x4_tiny") + "/model_index.json", dir + "/model_index.json");
  fs::create_symlink(fixture_model("x4_tiny") + "/vae/config.json", dir + "/vae/config.json");
  write_sharded(open_folder(fixture_model("x4_tiny")).weights("vae"), dir + "/vae", prefix, index_name);
  return dir;
}

TEST(ModelFolder, ShardedCheckpointsAreJoined) {
  UPREZ_REQUIRE_PATH(fixture_model("x4_tiny"));
  const StateDict vae = open_folder(fixture_model("x4_tiny")).weights("vae");
  const std::string plain = sharded_model("diffusion_pytorch_model", "diffusion_pytorch_model.safetensors.index.json");
  expect_same_weights(open_folder(plain).weights("vae"), vae);
  const std::string fp16 =
      sharded_model("diffusion_pytorch_model.fp16", "diffusion_pytorch_model.safetensors.index.fp16.json");
  expect_same_weights(open_folder(fp16, "fp16").weights("vae"), vae);
  EXPECT_TRUE(contains(test::error_message_of([&] { open_folder(fp16).weights("vae"); }), "(variants present: fp16;"));
  const std::string legacy =
      sharded_model("diffusion_pytorch_model.ema", "diffusion_pytorch_model.safetensors.ema.index.json");
  expect_same_weights(open_folder(legacy, "ema").weights("vae"), vae);
}

TEST(ModelFolder, ShardIndexErrors) {
  UPREZ_REQUIRE_PATH(fixture_model("x4_tiny"));
  const std::string dir = sharded_model("diffusion_pytorch_model", "diffusion_pytorch_model.safetensors.index.json");
  const std::string vae = dir + "/vae";
  const std::string index = vae + "/diffusion_pytorch_model.safetensors.index.json";
  const std::string shard1 = "diffusion_pytorch_model-00001-of-00002.safetensors";
  const auto edit_map = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json json = nlohmann::json::parse(std::ifstream(index));
    edit(json["weight_map"]);
    write_text(index, json.dump());
  };
  const auto error = [&] { return test::error_message_of([&] { open_folder(dir).weights("vae"); }); };
  const std::string first = nlohmann::json::parse(std::ifstream(index))["weight_map"].begin().key();

  edit_map([&](nlohmann::json& map) { map["extra.weight"] = shard1; });
  EXPECT_EQ(error(), "vae: " + index + " maps \"extra.weight\" to " + shard1 + ", which does not hold it");
  edit_map([&](nlohmann::json& map) { map["extra.weight"] = "missing.safetensors"; });
  EXPECT_EQ(error(), "vae: " + index + " names the shard missing.safetensors, which is missing");
  edit_map([&](nlohmann::json& map) { map.erase("extra.weight");
    map.erase(first); });
  EXPECT_TRUE(contains(error(), "holds \"" + first + "\", which " + index + " maps to no shard")) << error();
  edit_map([&](nlohmann::json& map) { map[first] = "../vae/" + shard1; });
  EXPECT_EQ(error(), index + ": shard \"../vae/" + shard1 + "\" is not a file name in the component folder");
  write_text(index, "{\"metadata\": {}}");
  EXPECT_EQ(error(), index + ": no \"weight_map\" object");
}

TEST(ModelFolder, ModelIndexMustBeAJsonObject) {
  const std::string dir = test::temp_dir();
  EXPECT_EQ(test::error_message_of([&] { open_folder(dir); }),
            dir + "/model_index.json: missing (a diffusers model folder has one; is " + dir +
                " a diffusers model?)");
  write_text(dir + "/model_index.json", "[1, 2]");
  EXPECT_EQ(test::error_message_of([&] { open_folder(dir); }), dir + "/model_index.json: not a JSON object");
  write_text(dir + "/model_index.json", "{\"unet\": ");
  EXPECT_EQ(test::error_message_of([&] { open_folder(dir); }), dir + "/model_index.json: not valid JSON");
}

TEST(ModelFolder, NeitherAFolderNorARepoId) {
  for (const std::string model : {"no/such/folder", "./missing", "missing", "org/na--me", "org/name.git", "-org/name"})
    EXPECT_EQ(test::error_message_of([&] { open_folder(model); }),
              model + ": no such model folder, and not a Hugging Face repo id (org/name)");
}

TEST(HfCache, RepoIds) {
  for (const char* good : {"stabilityai/stable-diffusion-x4-upscaler", "a/b", "Org_1/name.v2", "o/_x_"})
    EXPECT_TRUE(is_hf_repo_id(good)) << good;
  for (const char* bad : {"name", "a/b/c", "/name", "org/", "org/a..b", "org/a--b", "org/.name", "org/name-",
                          "org/na me", "org/näme", "org/x.git", ""})
    EXPECT_FALSE(is_hf_repo_id(bad)) << bad;
  EXPECT_TRUE(is_hf_repo_id("org/" + std::string(96, 'a')));
  EXPECT_FALSE(is_hf_repo_id("org/" + std::string(97, 'a')));
}

TEST(HfCache, CacheFolderFromTheEnvironment) {
  const std::vector<std::pair<Settings, std::string>> cases = {
      {{{"HF_HUB_CACHE", "/x/hub-cache"}, {"HF_HOME", "/x/hf-home"}}, "/x/hub-cache"},
      {{{"HUGGINGFACE_HUB_CACHE", "/x/legacy"}, {"HF_HOME", "/x/hf-home"}}, "/x/legacy"},
      {{{"HF_HOME", "/x/hf-home"}, {"XDG_CACHE_HOME", "/x/xdg"}}, "/x/hf-home/hub"},
      {{{"HOME", "/x/home"}}, "/x/home/.cache/huggingface/hub"},
      {{{"HOME", "/x/home"}, {"HF_HOME", "~/hf"}}, "/x/home/hf/hub"},
      {{{"XDG_CACHE_HOME", "/x/xdg"}, {"HF_HUB_CACHE", ""}}, "/x/xdg/huggingface/hub"},
  };
  for (const auto& [settings, expected] : cases) {
    HubEnv env(settings);
    EXPECT_EQ(hf_hub_cache_dir(), expected);
  }
}

// A cache with models--org--name: refs/main → kCommit (x4_tiny), refs/v1 → kOtherCommit (x4_tiny_bin).
std::string fake_cache(const std::string& cache) {
  const std::string repo = cache + "/models--org--name";
  fs::create_directories(repo + "/refs");
  write_text(repo + "/refs/main", kCommit);
  write_text(repo + "/refs/v1", std::string(kOtherCommit) + "\n");
  mirror_model(fixture_model("x4_tiny"), repo + "/snapshots/" + kCommit);
  mirror_model(fixture_model("x4_tiny_bin"), repo + "/snapshots/" + kOtherCommit);
  return repo;
}

TEST(HfCache, RepoIdsAreFoundInTheCache) {
  UPREZ_REQUIRE_PATH(fixture_model("x4_tiny"));
  UPREZ_REQUIRE_PATH(fixture_model("x4_tiny_bin"));
  const std::string cache = test::temp_dir() + "/hub";
  const std::string repo = fake_cache(cache);
  HubEnv env({{"HF_HUB_CACHE", cache}});
  const ModelFolder main = open_folder("org/name");
  EXPECT_EQ(main.root(), repo + "/snapshots/" + kCommit);
  expect_same_weights(main.weights("vae"), open_folder(fixture_model("x4_tiny")).weights("vae"));
  EXPECT_EQ(open_folder("org/name", "", "main").root(), main.root());
  EXPECT_EQ(open_folder("org/name", "", "v1").root(), repo + "/snapshots/" + kOtherCommit);
  EXPECT_EQ(open_folder("org/name", "", kOtherCommit).root(), repo + "/snapshots/" + kOtherCommit);
  EXPECT_TRUE(fs::exists(open_folder("org/name", "", "v1").component_dir("unet") + "/diffusion_pytorch_model.bin"));
}

TEST(HfCache, HfHomeHoldsTheCache) {
  UPREZ_REQUIRE_PATH(fixture_model("x4_tiny"));
  const std::string home = test::temp_dir();
  const std::string repo = fake_cache(home + "/hub");
  HubEnv env({{"HF_HOME", home}});
  EXPECT_EQ(open_folder("org/name").root(), repo + "/snapshots/" + kCommit);
  EXPECT_EQ(open_folder("org/name").component_class("vae"), "AutoencoderKL");
}

TEST(HfCache, NotCachedErrors) {
  UPREZ_REQUIRE_PATH(fixture_model("x4_tiny"));
  const std::string cache = test::temp_dir() + "/hub";
  const std::string repo = fake_cache(cache);
  HubEnv env({{"HF_HUB_CACHE", cache}});
  const std::string no_download = "; downloading models is not supported yet";
  const auto error = [](const std::string& model, const std::string& revision) {
    return test::error_message_of([&] { open_folder(model, "", revision); });
  };
  EXPECT_EQ(error("org/other", ""), "org/other: not found in the Hugging Face cache (looked in " + cache + ")" +
                                         no_download);
  EXPECT_EQ(error("org/name", "v2"), "org/name: revision \"v2\" not found in the Hugging Face cache (no " + repo +
                                         "/refs/v2)" + no_download);
  const std::string absent(40, 'a');
  EXPECT_EQ(error("org/name", absent), "org/name: revision \"" + absent + "\" (commit " + absent +
                                           ") not found in the Hugging Face cache (no " + repo + "/snapshots/" +
                                           absent + ")" + no_download);
  EXPECT_EQ(error("org/name", "../../x"), "--revision \"../../x\": not a branch, tag or commit name");
  write_text(repo + "/refs/broken", "\n");
  EXPECT_EQ(error("org/name", "broken"), repo + "/refs/broken: does not hold a commit hash");
  fs::remove(repo + "/refs/main");
  EXPECT_EQ(error("org/name", ""), "org/name: revision \"main\" not found in the Hugging Face cache (no " + repo +
                                       "/refs/main)" + no_download);
}

}  // namespace model_folder_test
}  // namespace uprez
