// The architecture registry: every supported architecture in spandrel's registry order, and load_model, which
// detects a state dict's architecture (first match wins) and loads it.
#include "arch/architecture.h"

#include <sstream>

#include "arch/atd.h"
#include "arch/aurasr.h"
#include "arch/compact.h"
#include "arch/craft.h"
#include "arch/dat.h"
#include "arch/dctlsa.h"
#include "arch/ditn.h"
#include "arch/drct.h"
#include "arch/esrgan.h"
#include "arch/fdat.h"
#include "arch/grl.h"
#include "arch/hat.h"
#include "arch/ipt.h"
#include "arch/mmrealsr.h"
#include "arch/moesr.h"
#include "arch/mosr.h"
#include "arch/omnisr.h"
#include "arch/plksr.h"
#include "arch/rcan.h"
#include "arch/realcugan.h"
#include "arch/rgt.h"
#include "arch/safmn.h"
#include "arch/seemore.h"
#include "arch/span.h"
#include "arch/srformer.h"
#include "arch/swiftsrgan.h"
#include "arch/swin2sr.h"
#include "arch/swinir.h"
#include "core/error.h"

namespace uprez {

const std::vector<Architecture>& architectures() {
  // spandrel 0.4.2's MAIN_REGISTRY order (the super-resolution architectures), then spandrel_extra_arches'
  // SRFormer, which install() appends: where key sets overlap, the first match wins as in spandrel.
  static const std::vector<Architecture> registry = {
      kCompactArchitecture,   kSwiftSrganArchitecture, kHatArchitecture,      kGrlArchitecture,
      kSwin2SRArchitecture,   kSwinIRArchitecture,     kOmniSrArchitecture,   kRgtArchitecture,
      kDatArchitecture,       kCraftArchitecture,      kDitnArchitecture,     kMmrealsrArchitecture,
      kSpanArchitecture,      kRealCuganArchitecture,  kSafmnArchitecture,    kDctlsaArchitecture,
      kAtdArchitecture,       kIptArchitecture,        kDrctArchitecture,     kEsrganArchitecture,
      kPlksrArchitecture,     kSeemoreArchitecture,    kMosrArchitecture,     kMoesrArchitecture,
      kRcanArchitecture,      kFdatArchitecture,       kAuraSrArchitecture,   kSrformerArchitecture,
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
