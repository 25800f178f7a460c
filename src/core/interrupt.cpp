#include "core/interrupt.h"

#include <atomic>
#include <csignal>

#include "core/error.h"

namespace uprez {

namespace interrupt {

std::atomic<bool> stop_requested{false};

extern "C" void request_stop(int signal_number) {
  stop_requested.store(true);
  std::signal(signal_number, SIG_DFL);  // the second one ends the program
}

}  // namespace interrupt

void install_interrupt_handler() {
  std::signal(SIGINT, interrupt::request_stop);
  std::signal(SIGTERM, interrupt::request_stop);
}

void throw_if_interrupted() {
  if (interrupt::stop_requested.load()) throw Error("interrupted; unfinished outputs were removed");
}

}  // namespace uprez
