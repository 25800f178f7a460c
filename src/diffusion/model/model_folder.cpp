#include "diffusion/model/model_folder.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "core/error.h"
#include "diffusion/model/hf_cache.h"
#include "io/model_file.h"

namespace uprez {

namespace model_folder {
namespace fs = std::filesystem;

// The weights file stems diffusers (diffusion_pytorch_model) and transformers (model, pytorch_model) use, and the
// formats in the order diffusers prefers them.
const char* const kStems[] = {"diffusion_pytorch_model", "model", "pytorch_model"};
const char* const kFormats[] = {"safetensors", "bin"};

// The folder `location.model` names, or the cached snapshot of the repo id it names.
std::string find_root(const ModelLocation& location) {
  if (fs::is_directory(location.model)) {
    std::string root = location.model;
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    return root;
  }
  if (is_hf_repo_id(location.model)) return hf_cached_snapshot(location.model, location.revision);
  throw Error(location.model + ": no such model folder, and not a Hugging Face repo id (org/name)");
}

// A variant goes between dots in file names: letters, digits, '_' and '-' only.
void check_variant(const std::string& variant) {
  for (char c : variant) {
    const bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!word && c != '-')
      throw Error("--variant \"" + variant + "\": a variant is a name of letters, digits, '_' and '-' (e.g. fp16)");
  }
}

// The JSON object in `path`; Error naming the file when it is unreadable, not JSON or not an object.
nlohmann::json read_json_object(const std::string& path) {
  std::ifstream in(path);
  if (!fs::is_regular_file(path) || !in) throw Error(path + ": cannot open the file");
  nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) throw Error(path + ": not valid JSON");
  if (!json.is_object()) throw Error(path + ": not a JSON object");
  return json;
}

// "<stem>[.<variant>].<format>".
std::string file_name(const std::string& stem, const std::string& variant, const std::string& format) {
  return stem + (variant.empty() ? "" : "." + variant) + "." + format;
}

// The index of a sharded checkpoint: "<stem>.<format>.index[.<variant>].json" (diffusers' and transformers'
// _add_variant), and with a variant diffusers' deprecated "<stem>.<format>.<variant>.index.json".
std::vector<std::string> index_names(const std::string& stem, const std::string& variant, const std::string& format) {
  const std::string base = stem + "." + format;
  if (variant.empty()) return {base + ".index.json"};
  return {base + ".index." + variant + ".json", base + "." + variant + ".index.json"};
}

struct WeightsFile {
  std::string name;  // in the component folder
  bool sharded = false;
};

// The index (preferred, as diffusers prefers it) or the single file of one stem.
std::optional<WeightsFile> stem_file(const std::string& dir, const std::string& stem, const std::string& variant,
                                     const std::string& format) {
  for (const std::string& name : index_names(stem, variant, format))
    if (fs::is_regular_file(dir + "/" + name)) return WeightsFile{name, true};
  const std::string name = file_name(stem, variant, format);
  if (fs::is_regular_file(dir + "/" + name)) return WeightsFile{name, false};
  return std::nullopt;
}

// The weights file of `format` in `dir`; Error when two stems both have one (which would be loaded is a guess).
std::optional<WeightsFile> find_weights_file(const std::string& component, const std::string& dir,
                                             const std::string& variant, const std::string& format) {
  std::vector<WeightsFile> found;
  for (const char* stem : kStems)
    if (std::optional<WeightsFile> file = stem_file(dir, stem, variant, format)) found.push_back(*file);
  if (found.size() > 1)
    throw Error(component + ": two weights files in " + dir + ", " + found[0].name + " and " + found[1].name +
                "; remove the one that does not belong");
  if (found.empty()) return std::nullopt;
  return found[0];
}

// The variants of the weights files in `dir`, "" for plain ones: <stem>[.<v>].<format>, transformers' shards
// <stem>[.<v>]-00001-of-00002.<format>, and the indexes.
std::set<std::string> variants_present(const std::string& dir) {
  std::string stems;
  for (const char* stem : kStems) stems += std::string(stems.empty() ? "" : "|") + stem;
  const std::string head = "^(?:" + stems + ")";
  const std::string format = "\\.(?:safetensors|bin)";
  const std::regex patterns[] = {
      std::regex(head + "(?:\\.([^.]+?))?(?:-\\d{5}-of-\\d{5})?" + format + "$"),
      std::regex(head + format + "\\.index(?:\\.([^.]+))?\\.json$"),
      std::regex(head + format + "\\.([^.]+)\\.index\\.json$"),
  };
  std::set<std::string> variants;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    std::smatch match;
    for (const std::regex& pattern : patterns)
      if (std::regex_match(name, match, pattern)) variants.insert(match[1].str());
  }
  return variants;
}

[[noreturn]] void throw_no_weights(const std::string& component, const std::string& dir, const std::string& variant) {
  const std::set<std::string> present = variants_present(dir);
  std::string listed;
  for (const std::string& name : present)
    if (!name.empty()) listed += (listed.empty() ? "" : ", ") + name;
  const std::string dot = variant.empty() ? " ." : " ." + variant + ".";
  std::string advice;
  if (!variant.empty() && present.count("")) advice = "; the plain weights are there: leave out --variant";
  if (variant.empty() && !listed.empty()) advice = "; pick one with --variant";
  throw Error(component + ": no weights in " + dir + ": no diffusion_pytorch_model, model or pytorch_model with" +
              dot + "safetensors or" + dot + "bin, single or sharded (variants present: " +
              (listed.empty() ? "none" : listed) + advice + ")");
}

// A shard name from an index: a file of the component folder.
void check_shard_name(const std::string& index, const std::string& shard) {
  if (shard.empty() || shard == "." || shard == ".." || shard.find('/') != std::string::npos)
    throw Error(index + ": shard \"" + shard + "\" is not a file name in the component folder");
}

// The index's "weight_map" (tensor name → shard file), checked to be an object of strings.
std::map<std::string, std::string> read_weight_map(const std::string& index) {
  const nlohmann::json json = read_json_object(index);
  const auto map = json.find("weight_map");
  if (map == json.end() || !map->is_object()) throw Error(index + ": no \"weight_map\" object");
  std::map<std::string, std::string> weight_map;
  for (const auto& [name, shard] : map->items()) {
    if (!shard.is_string()) throw Error(index + ": \"weight_map\" entry \"" + name + "\" is not a file name");
    check_shard_name(index, shard.get<std::string>());
    weight_map[name] = shard.get<std::string>();
  }
  return weight_map;
}

// Adds a shard's tensors to `out`, each checked to be mapped to that shard.
void add_shard(const std::string& component, const std::string& index, const std::map<std::string, std::string>& map,
               const std::string& dir, const std::string& shard, StateDict& out) {
  const std::string path = dir + "/" + shard;
  if (!fs::is_regular_file(path))
    throw Error(component + ": " + index + " names the shard " + shard + ", which is missing");
  const StateDict part = load_state_dict(path);
  for (const std::string& name : part.keys()) {
    const auto entry = map.find(name);
    if (entry == map.end() || entry->second != shard)
      throw Error(component + ": " + path + " holds \"" + name + "\", which " + index + " maps " +
                  (entry == map.end() ? "to no shard" : "to " + entry->second));
    out.set(name, part.at(name));
  }
}

// A sharded checkpoint: every shard its index names (in name order, as diffusers loads them), joined.
StateDict load_sharded(const std::string& component, const std::string& dir, const std::string& index) {
  const std::map<std::string, std::string> map = read_weight_map(index);
  std::set<std::string> shards;
  for (const auto& entry : map) shards.insert(entry.second);
  StateDict out;
  for (const std::string& shard : shards) add_shard(component, index, map, dir, shard, out);
  for (const auto& [name, shard] : map)
    if (!out.contains(name))
      throw Error(component + ": " + index + " maps \"" + name + "\" to " + shard + ", which does not hold it");
  return out;
}

}  // namespace model_folder

ModelFolder ModelFolder::open(const ModelLocation& location) {
  model_folder::check_variant(location.variant);
  ModelFolder folder;
  folder.root_ = model_folder::find_root(location);
  folder.variant_ = location.variant;
  const std::string index = folder.root_ + "/model_index.json";
  if (!model_folder::fs::exists(index))
    throw Error(index + ": missing (a diffusers model folder has one; is " + location.model + " a diffusers model?)");
  folder.index_ = model_folder::read_json_object(index);
  return folder;
}

std::string ModelFolder::component_class(const std::string& component) const {
  const std::string where = root_ + "/model_index.json: component \"" + component + "\"";
  const auto entry = index_.find(component);
  if (entry == index_.end()) throw Error(where + " is not listed");
  const bool pair = entry->is_array() && entry->size() == 2;
  if (entry->is_null() || (pair && (*entry)[1].is_null())) throw Error(where + " is null (this model has none)");
  if (!pair || !(*entry)[1].is_string())
    throw Error(where + " must be [\"library\", \"Class\"], not " + entry->dump());
  return (*entry)[1].get<std::string>();
}

std::string ModelFolder::component_dir(const std::string& component) const {
  const std::string dir = root_ + "/" + component;
  if (component.empty() || !model_folder::fs::is_directory(dir))
    throw Error(component + ": component folder missing: no folder " + dir);
  return dir;
}

JsonConfig ModelFolder::config(const std::string& component, const std::string& file) const {
  return JsonConfig::read(component_dir(component) + "/" + file);
}

StateDict ModelFolder::weights(const std::string& component) const {
  const std::string dir = component_dir(component);
  for (const char* format : model_folder::kFormats) {
    const std::optional<model_folder::WeightsFile> file =
        model_folder::find_weights_file(component, dir, variant_, format);
    if (!file) continue;
    const std::string path = dir + "/" + file->name;
    return file->sharded ? model_folder::load_sharded(component, dir, path) : load_state_dict(path);
  }
  model_folder::throw_no_weights(component, dir, variant_);
}

}  // namespace uprez
