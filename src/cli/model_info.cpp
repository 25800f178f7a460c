// model-info: loads each model file, detects its architecture and prints what uprez knows about it.
#include "cli/model_info.h"

#include <algorithm>
#include <iostream>

#include "arch/architecture.h"
#include "cli/help_requested.h"
#include "core/error.h"
#include "io/model_file.h"

namespace uprez {

namespace model_info {

const char* format_name(ModelFileFormat format) {
  switch (format) {
    case ModelFileFormat::TorchZip: return "PyTorch zip (torch.save)";
    case ModelFileFormat::TorchLegacy: return "PyTorch legacy pickle (torch.save, pre-1.6)";
    case ModelFileFormat::TorchScript: return "TorchScript archive";
    case ModelFileFormat::Safetensors: return "safetensors";
    case ModelFileFormat::Unknown: break;
  }
  return "unknown";
}

std::string stored_dtypes(const StateDict& state) {
  std::vector<std::string> names;
  for (const std::string& key : state.keys()) {
    const std::string name(c10::toString(state.at(key).scalar_type()));
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  std::string joined;
  for (const auto& n : names) joined += (joined.empty() ? "" : ", ") + n;
  return joined;
}

void print_info(const std::string& path, const StateDict& state, const ModelInfo& info) {
  const SizeRequirements& size = info.size_requirements;
  std::string tags;
  for (const auto& t : info.tags) tags += (tags.empty() ? "" : ", ") + t;
  std::cout << "file:              " << path << "\n"
            << "format:            " << format_name(detect_model_file_format(path)) << "\n"
            << "architecture:      " << info.architecture_id << " (" << info.architecture_name << ")\n"
            << "purpose:           " << to_string(info.purpose) << "\n"
            << "scale:             " << info.scale << "\n"
            << "input channels:    " << info.input_channels << "\n"
            << "output channels:   " << info.output_channels << "\n"
            << "parameters:        " << info.parameter_count << "\n"
            << "stored dtype:      " << stored_dtypes(state) << "\n"
            << "size requirements: minimum " << size.minimum << ", multiple of " << size.multiple_of
            << (size.square ? ", square" : "") << "\n"
            << "tiling:            " << to_string(info.tiling) << "\n"
            << "float16:           " << (info.supports_half ? "supported" : "not supported") << "\n"
            << "bfloat16:          " << (info.supports_bfloat16 ? "supported" : "not supported") << "\n"
            << "tags:              " << tags << "\n"
            << "hyperparameters:   " << info.hyperparameters.dump() << "\n";
}

}  // namespace model_info

ModelInfoOptions parse_model_info(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help")
    throw HelpRequested("usage: uprez model-info FILE...\n"
                        "Prints the architecture and metadata detected from a model file's weights; for an unknown\n"
                        "architecture, the first keys of the file.\n",
                        args.empty() ? 1 : 0);
  return {args};
}

bool run_model_info(const ModelInfoOptions& options) {
  bool all_read = true;
  for (const std::string& path : options.files) {
    try {
      const StateDict state = load_state_dict(path);
      const Model model = load_model(state, path);
      if (&path != &options.files.front()) std::cout << "\n";
      model_info::print_info(path, state, model.info);
    } catch (const std::exception& e) {
      std::cerr << "model-info: error: " << one_line_message(e) << "\n";
      all_read = false;
    }
  }
  return all_read;
}

int model_info_main(const std::vector<std::string>& args) {
  try {
    return run_model_info(parse_model_info(args)) ? 0 : 1;
  } catch (const HelpRequested& help) {
    std::cout << help.text();
    return help.status();
  }
}

}  // namespace uprez
