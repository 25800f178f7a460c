// The public entry point for model files: recognizes the format from the file's bytes and reads its weights
// into a canonical StateDict, unwrapped the way spandrel 0.4.2 unwraps published checkpoints.
#pragma once

#include <string>

#include "io/state_dict.h"

namespace uprez {

enum class ModelFileFormat { TorchZip, TorchLegacy, TorchScript, Safetensors, Unknown };

// The format of the file at `path`, decided from its bytes, never its extension. Throws Error("<path>: ...")
// when the file cannot be read or is a zip archive whose structure is corrupt.
ModelFileFormat detect_model_file_format(const std::string& path);

// Reads the weights of a torch.save checkpoint (zip or legacy) or a safetensors file, on the CPU in their stored
// dtype, and canonicalizes them as spandrel does:
//   1. the value of the first of model_state_dict, state_dict, params_ema, params-ema, params, model, net that
//      is a dict replaces the whole;
//   2. a dict with a single entry whose value is a dict is replaced by that value;
//   3. the prefix "module.", then "netG.", is removed when every key has it.
// Entries that are not tensors (or not named by a str) are skipped. Throws Error with a one-line message that
// starts with `path` when the file is missing, unreadable, empty, not a model file, corrupt, refers to
// anything but tensor data (TorchScript, pickled code), or holds no tensors.
StateDict load_state_dict(const std::string& path);

}  // namespace uprez
