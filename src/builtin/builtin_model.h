// uprez's own default model, models/uprez-compact-x4.safetensors (trained by tools/train/recipe.sh; see
// models/README.md), compiled into the program so that `upscaler` works without a model file or a network.
#pragma once

#include "arch/architecture.h"
#include "io/state_dict.h"

namespace uprez {

constexpr const char* kBuiltinModelName = "uprez-compact-x4";

// The built-in model's weights: a Compact x4 state dict (float16).
StateDict builtin_model_state();

// The built-in model, loaded (named kBuiltinModelName in messages).
Model load_builtin_model();

}  // namespace uprez
