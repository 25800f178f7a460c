// Loading a state dict into a LibTorch module by its dotted parameter and buffer names, strictly (as spandrel
// loads), with one-line errors naming the key.
#pragma once

#include <string>

#include <torch/torch.h>

#include "io/state_dict.h"

namespace uprez {

// Copies every parameter and buffer of `module` from `state` by its dotted name (converted to the module's
// dtype). Throws Error naming the key for a missing key or a shape mismatch, and for keys in `state` that the
// module does not have.
void load_weights(torch::nn::Module& module, const StateDict& state);
// As load_weights, but a tensor already of the parameter's dtype, device and shape becomes the parameter's storage
// instead of being copied: loading a large model then holds its weights once, not twice.
void adopt_weights(torch::nn::Module& module, StateDict state);

// A shape as "[1, 3, 64, 64]", for messages.
std::string shape_string(torch::IntArrayRef shape);

}  // namespace uprez
