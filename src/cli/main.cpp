// uprez: upscale images with super-resolution models. Sub-commands follow dgenerate's command line.
#include <iostream>
#include <string>
#include <vector>

#include "cli/image_process.h"
#include "cli/model_info.h"
#include "cli/openmp_blocktime.h"
#include "core/caching_cpu_allocator.h"
#include "core/interrupt.h"
#include "core/error.h"
#include "processors/processor.h"

namespace uprez {
namespace main_program {

void print_usage() {
  std::cout << "uprez " UPREZ_VERSION " - make images larger and sharper\n\n"
               "usage:\n"
               "  uprez image-process INPUT... [-p URI...] [-o OUTPUT...] [options]\n"
               "  uprez --sub-command image-process INPUT... [options]   (dgenerate spelling)\n"
               "  uprez model-info MODEL_FILE...\n"
               "  uprez --image-processor-help [PROCESSOR...]\n"
               "  uprez --version\n\n"
               "Run 'uprez image-process --help' for the options of image-process.\n";
}

int print_processor_help(const std::vector<std::string>& names) {
  try {
    if (names.empty()) std::cout << processor_help();
    for (const std::string& name : names) std::cout << processor_help(name) << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "uprez: error: " << one_line_message(e) << "\n";
    return 1;
  }
}

}  // namespace main_program
}  // namespace uprez

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() >= 2 && (args[0] == "--sub-command" || args[0] == "-scm")) args.erase(args.begin());
  if (args.empty() || args[0] == "-h" || args[0] == "--help") {
    uprez::main_program::print_usage();
    return args.empty() ? 1 : 0;
  }
  const std::string command = args[0];
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  if (command == "image-process") uprez::apply_openmp_blocktime(argv, rest);
  if (command == "--version") {
    std::cout << "uprez " UPREZ_VERSION "\n";
    return 0;
  }
  if (command == "--image-processor-help") return uprez::main_program::print_processor_help(rest);
  if (command == "image-process") {
    uprez::install_caching_cpu_allocator();
    uprez::install_interrupt_handler();
    return uprez::image_process_main(rest);
  }
  if (command == "model-info") return uprez::model_info_main(rest);
  std::cerr << "uprez: error: unknown command \"" << command << "\" (see uprez --help)\n";
  return 1;
}
