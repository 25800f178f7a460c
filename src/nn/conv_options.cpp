#include "nn/conv_options.h"

#include <atomic>
#include <cstdlib>
#include <string>

namespace uprez {

namespace conv_options {

enum class Mode { Off, Direct, Winograd, Sgemm };

// UPREZ_FAST_CONV: unset or anything else: Winograd; "0"/"off"/"false": off; "direct"; "sgemm".
Mode environment_mode() {
  const char* value = std::getenv("UPREZ_FAST_CONV");
  const std::string mode = value == nullptr ? "" : value;
  if (mode == "0" || mode == "off" || mode == "false") return Mode::Off;
  if (mode == "direct") return Mode::Direct;
  if (mode == "sgemm") return Mode::Sgemm;
  return Mode::Winograd;
}

std::atomic<bool>& enabled_flag() {
  static std::atomic<bool> flag{environment_mode() != Mode::Off};
  return flag;
}

}  // namespace conv_options

const ConvOptions& ConvOptions::defaults() {
  static const ConvOptions options = [] {
    const conv_options::Mode mode = conv_options::environment_mode();
    ConvOptions o;
    o.winograd = mode == conv_options::Mode::Winograd;
    o.sgemm = mode == conv_options::Mode::Sgemm;
    return o;
  }();
  return options;
}

void set_fast_conv_enabled(bool enabled) { conv_options::enabled_flag() = enabled; }
bool fast_conv_enabled() { return conv_options::enabled_flag(); }

}  // namespace uprez
