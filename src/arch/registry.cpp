#include "arch/architecture.h"

#include <sstream>

#include "arch/compact.h"
#include "arch/esrgan.h"
#include "arch/span.h"
#include "core/error.h"

namespace uprez {

const std::vector<Architecture>& architectures() {
  // spandrel 0.4.2's MAIN_REGISTRY order, restricted to what is implemented.
  static const std::vector<Architecture> registry = {
      kCompactArchitecture,
      kSpanArchitecture,
      kEsrganArchitecture,
  };
  return registry;
}

Model load_model(const StateDict& state, const std::string& source) {
  for (const Architecture& arch : architectures()) {
    if (!arch.detect(state)) continue;
    Model model = arch.load(state);
    model.info.parameter_count = state.parameter_count();
    return model;
  }
  std::ostringstream keys;
  const size_t shown = std::min<size_t>(state.size(), 8);
  for (size_t i = 0; i < shown; ++i) keys << (i ? ", " : "") << state.keys()[i];
  if (state.size() > shown) keys << ", ... (" << state.size() << " keys)";
  throw Error(source + ": unsupported model architecture (first keys: " + keys.str() + ")");
}

}  // namespace uprez
