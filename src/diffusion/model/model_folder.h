// A diffusers model folder (model_index.json + one sub-folder per component), found as a path or as a Hugging Face
// repo id in the standard cache, with each component's config and weights (`--variant` picks *.<variant>.* files).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "diffusion/model/json_config.h"
#include "io/state_dict.h"

namespace uprez {

struct ModelLocation {
  std::string model;     // a folder, or a Hugging Face repo id "org/name"
  std::string revision;  // cache ref or commit for a repo id; "" = "main"
  std::string variant;   // "" or e.g. "fp16": weights named *.fp16.safetensors / *.fp16.bin
};

class ModelFolder {
 public:
  // A folder when `location.model` names an existing directory, else a repo id looked up in the cache
  // ($HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub). Throws Error: no model_index.json; a repo id
  // that is not cached (naming the directory looked in); a name that is neither a folder nor "org/name".
  static ModelFolder open(const ModelLocation& location);

  const std::string& root() const { return root_; }
  // model_index.json: "_class_name" and the component entries (["diffusers", "UNet2DConditionModel"] ...).
  const nlohmann::json& model_index() const { return index_; }
  // The class model_index.json gives `component` (e.g. "DDIMScheduler"); throws Error naming the component when
  // model_index.json has no such entry or it is null.
  std::string component_class(const std::string& component) const;
  // <root>/<component>, checked to exist (Error naming the component otherwise).
  std::string component_dir(const std::string& component) const;
  // <root>/<component>/<file> read as a JsonConfig (config.json, or scheduler_config.json for schedulers).
  JsonConfig config(const std::string& component, const std::string& file = "config.json") const;
  // The component's weights: <stem>[.<variant>].safetensors, else <stem>[.<variant>].bin, for the stems diffusers
  // and transformers use (diffusion_pytorch_model, model / pytorch_model), sharded files (*.index.json) joined.
  // A sharded checkpoint's index is <stem>.<format>.index[.<variant>].json (diffusers' deprecated
  // <stem>.<format>.<variant>.index.json too) and wins over a single file, as in diffusers.
  // Throws Error naming the component when none exists (listing the variant asked for, and the variants present),
  // when two stems both have weights of the preferred format, and when an index and its shards disagree.
  StateDict weights(const std::string& component) const;

 private:
  std::string root_;
  std::string variant_;
  nlohmann::json index_;
};

}  // namespace uprez
