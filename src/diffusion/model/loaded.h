// Building a diffusion component and loading its weights: no random initial values (SkipInit), the loaded
// tensors become the parameters (adopt_weights: the weights are held once), errors prefixed with the component name.
#pragma once
#include <string>
#include <utility>

#include "core/error.h"
#include "io/state_dict.h"
#include "nn/load_weights.h"
#include "nn/skip_init.h"

namespace uprez {

// A `Holder` module (e.g. UNet2DCondition) built from `config` with every parameter and buffer taken strictly from
// `weights`, in eval mode; Error("<what>: ...").
template <typename Holder, typename Config>
Holder loaded(const Config& config, StateDict weights, const std::string& what) {
  Holder model{nullptr};
  {
    SkipInit skip;
    model = Holder(config);
  }
  try {
    adopt_weights(*model, std::move(weights));
  } catch (const Error& e) {
    throw Error(what + ": " + e.what());
  }
  model->eval();
  return model;
}

}  // namespace uprez
