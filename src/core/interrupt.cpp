#include "core/interrupt.h"

#include <atomic>
#include <csignal>

#include "core/error.h"

namespace uprez {

namespace {

std::atomic<bool> stop_requested{false};

extern "C" void request_stop(int signal_number) {
  stop_requested.store(true);
  std::signal(signal_number, SIG_DFL);  // the second one ends the program
}

}  // namespace

void install_interrupt_handler() {
  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
}

void throw_if_interrupted() {
  if (stop_requested.load()) throw Error("interrupted; unfinished outputs were removed");
}

}  // namespace uprez
