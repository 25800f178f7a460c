// Running a command's CLI11 parser on its arguments: --help becomes HelpRequested, a parse error a one-line Error.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/help_requested.h"
#include "core/error.h"

namespace uprez {

// Parses `args` (in command-line order) with `app`.
inline void parse_command_line(CLI::App& app, std::vector<std::string> args) {
  std::reverse(args.begin(), args.end());  // CLI11 takes them last first
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    throw HelpRequested(app.help(), 0);
  } catch (const CLI::ParseError& e) {
    throw Error(e.what());
  }
}

}  // namespace uprez
