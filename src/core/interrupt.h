// Ctrl-C (SIGINT) and SIGTERM as a request to stop: long loops (tiles, frames) check it and throw, so that files
// being written are removed on the way out instead of being left half-written. A second signal ends the program
// at once.
#pragma once

namespace uprez {

// Installs the handlers (the uprez program does, once).
void install_interrupt_handler();

// Throws Error("interrupted") when a stop was requested.
void throw_if_interrupted();

}  // namespace uprez
