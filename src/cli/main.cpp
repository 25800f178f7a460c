// uprez: upscale images with super-resolution models. The sub-commands and the main command (MODEL --model-type
// torch-upscaler-x4 ...) follow dgenerate's command line.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "cli/diffusion_render.h"
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
               "  uprez MODEL --model-type torch-upscaler-x4 --image-seeds FILE... [options]\n"
               "        (the Stable Diffusion x4 upscaler; MODEL is a diffusers folder or a cached org/name)\n"
               "  uprez image-process INPUT... [-p URI...] [-o OUTPUT...] [options]\n"
               "  uprez --sub-command image-process INPUT... [options]   (dgenerate spelling)\n"
               "  uprez model-info MODEL_FILE...\n"
               "  uprez --image-processor-help [PROCESSOR...]\n"
               "  uprez --version\n\n"
               "Run 'uprez MODEL --help' for the options of the main command, 'uprez image-process --help' for\n"
               "those of image-process.\n";
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

// The main command starts with an option or with a MODEL followed by more arguments (a lone word is a mistyped
// sub-command more likely than a run, which needs at least --model-type and --image-seeds).
bool is_main_command(const std::vector<std::string>& args) {
  static const std::vector<std::string> commands = {"image-process", "model-info", "--version",
                                                    "--image-processor-help"};
  if (std::find(commands.begin(), commands.end(), args[0]) != commands.end()) return false;
  return args[0].rfind("-", 0) == 0 || args.size() > 1;
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
  if (uprez::main_program::is_main_command(args)) {
    uprez::apply_openmp_blocktime(argv, args);
    uprez::install_caching_cpu_allocator();
    uprez::install_interrupt_handler();
    return uprez::diffusion_main(args);
  }
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
