// Loading a diffusion component's weights into its freshly built module, errors prefixed with the component name.
#pragma once
#include <string>

#include "core/error.h"
#include "io/state_dict.h"
#include "nn/load_weights.h"

namespace uprez {

// `model` with every parameter and buffer loaded strictly from `weights`, in eval mode; Error("<what>: ...").
template <typename Holder>
Holder loaded(Holder model, const StateDict& weights, const std::string& what) {
  try {
    load_weights(*model, weights);
  } catch (const Error& e) {
    throw Error(what + ": " + e.what());
  }
  model->eval();
  return model;
}

}  // namespace uprez
