#include "processors/processor.h"

#include <algorithm>
#include <sstream>

#include "core/error.h"
#include "image/image_io.h"
#include "core/output_path.h"
#include "processors/upscaler.h"
#include "processors/upscaler_ncnn.h"

namespace uprez {

namespace processor {

std::vector<ArgumentSpec> common_arguments() {
  return {
      {"device", ArgumentType::String, "", "Device to run on: cpu, cuda or cuda:N (default: --device).", true},
      {"pre-resize", ArgumentType::Boolean, "false",
       "Run before image-process --resize instead of after it."},
      {"output-file", ArgumentType::Path, "", "Also write this processor's output image to this file.", true},
      {"output-overwrite", ArgumentType::Boolean, "false",
       "Overwrite output-file if it exists (otherwise a _duplicate_N suffix is added)."},
      {"model-offload", ArgumentType::Boolean, "false", "Move the model off the device after each image."},
  };
}

const ProcessorSpec& find_spec(const std::string& name) {
  for (const ProcessorSpec& spec : processor_specs())
    if (spec.name == name) return spec;
  std::string names;
  for (const ProcessorSpec& spec : processor_specs()) names += (names.empty() ? "" : ", ") + spec.name;
  throw Error("unknown image processor \"" + name + "\", available: " + names);
}

}  // namespace processor

Processor::Processor(const UriArguments& arguments)
    : device_(arguments.accepts("device") ? arguments.text("device") : "cpu"),
      output_file_(arguments.text("output-file")),
      output_overwrite_(arguments.flag("output-overwrite")),
      model_offload_(arguments.accepts("model-offload") && arguments.flag("model-offload")),
      pre_resize_(arguments.flag("pre-resize")) {}

Image Processor::apply(const Image& image, const ProgressCallback& progress) {
  Image result = process(image, progress);
  if (model_offload_) offload();
  if (!output_file_.empty()) {
    const std::string path = output_overwrite_ ? output_file_ : avoid_existing_path(output_file_);
    create_parent_folders(path);
    write_image(result, path);
  }
  return result;
}

const std::vector<ProcessorSpec>& processor_specs() {
  static const std::vector<ProcessorSpec> specs = [] {
    std::vector<ProcessorSpec> list = {upscaler_processor_spec(), upscaler_ncnn_processor_spec()};
    for (ProcessorSpec& spec : list)
      for (ArgumentSpec& common : processor::common_arguments())
        if (std::find(spec.hidden_common_arguments.begin(), spec.hidden_common_arguments.end(), common.name) ==
            spec.hidden_common_arguments.end())
          spec.arguments.push_back(common);
    return list;
  }();
  return specs;
}

std::unique_ptr<Processor> create_processor(const std::string& uri, const std::string& default_device) {
  Uri parsed = parse_uri(uri);
  const ProcessorSpec& spec = processor::find_spec(parsed.name);
  const bool has_device = std::any_of(parsed.arguments.begin(), parsed.arguments.end(),
                                      [](const auto& a) { return a.first == "device"; });
  const bool takes_device = std::any_of(spec.arguments.begin(), spec.arguments.end(),
                                        [](const ArgumentSpec& a) { return a.name == "device"; });
  if (!has_device && takes_device) parsed.arguments.emplace_back("device", default_device);
  return spec.create(UriArguments(spec.name, spec.arguments, parsed));
}

std::string processor_help() {
  std::ostringstream out;
  out << "Available image processors:\n\n";
  for (const ProcessorSpec& spec : processor_specs()) out << "    \"" << spec.name << "\"  " << spec.summary << "\n";
  out << "\nUse --image-processor-help NAME for a processor's arguments.\n";
  return out.str();
}

std::string processor_help(const std::string& name) {
  const ProcessorSpec& spec = processor::find_spec(name);
  std::ostringstream out;
  out << spec.name << ":\n    " << spec.summary << "\n\n    arguments:\n";
  for (const ArgumentSpec& a : spec.arguments) {
    out << "        " << a.name << " (" << argument_type_name(a.type) << ")";
    if (!a.default_value.empty()) out << ", default: " << a.default_value;
    else if (!a.optional) out << ", required";
    out << "\n            " << a.help << "\n";
  }
  if (!spec.details.empty()) out << "\n" << spec.details;
  return out.str();
}

}  // namespace uprez
