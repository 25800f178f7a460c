#include "nn/skip_init.h"

namespace uprez {
namespace skip_init {

thread_local bool active = false;

}  // namespace skip_init

SkipInit::SkipInit() : previous_(skip_init::active) { skip_init::active = true; }
SkipInit::~SkipInit() { skip_init::active = previous_; }
bool SkipInit::active() { return skip_init::active; }

}  // namespace uprez
