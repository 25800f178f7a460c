#include "processors/processor.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <sstream>

#include "core/error.h"
#include "image/image_io.h"
#include "core/output_path.h"
#include "processors/upscaler.h"
#include "processors/upscaler_ncnn.h"

namespace uprez {

namespace {

const char* type_name(ArgumentType type) {
  switch (type) {
    case ArgumentType::String: return "string";
    case ArgumentType::Path: return "path";
    case ArgumentType::Integer: return "int";
    case ArgumentType::Float: return "float";
    case ArgumentType::Boolean: return "bool";
    case ArgumentType::IntegerOrAuto: return "int | auto";
  }
  return "";
}

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

bool parse_integer(const std::string& text, int64_t& value) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long parsed = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  value = parsed;
  return true;
}

bool parse_float(const std::string& text, double& value) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return errno == 0 && *end == '\0';
}

bool parse_boolean(const std::string& text, bool& value) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  if (lower == "true") return value = true, true;
  if (lower == "false") return value = false, true;
  return false;
}

std::string join_names(const std::vector<ArgumentSpec>& specs) {
  std::vector<std::string> names;
  for (const auto& s : specs) names.push_back(s.name);
  std::sort(names.begin(), names.end());
  std::string joined;
  for (const auto& n : names) joined += (joined.empty() ? "" : ", ") + n;
  return joined;
}

}  // namespace

ProcessorArguments::ProcessorArguments(const std::string& processor, const std::vector<ArgumentSpec>& specs,
                                       const ProcessorUri& uri)
    : processor_(processor), specs_(specs) {
  for (const auto& [key, value] : uri.arguments) {
    // dgenerate accepts snake_case spellings of dash-case keys as well.
    std::string name = key;
    std::replace(name.begin(), name.end(), '_', '-');
    const auto known = std::find_if(specs_.begin(), specs_.end(), [&](const ArgumentSpec& s) { return s.name == name; });
    if (known == specs_.end())
      throw Error(processor_ + ": unknown argument \"" + key + "\", valid arguments: " + join_names(specs_));
    for (const auto& existing : values_)
      if (existing.first == name) throw Error(processor_ + ": duplicate argument \"" + name + "\"");
    values_.emplace_back(name, value);
  }
  for (const ArgumentSpec& s : specs_) {
    const bool given = std::any_of(values_.begin(), values_.end(), [&](const auto& v) { return v.first == s.name; });
    if (!given && s.default_value.empty() && !s.optional)
      throw Error(processor_ + ": missing required argument \"" + s.name + "\"");
    if (!given) continue;
    const std::string value = text(s.name);
    int64_t i = 0;
    double f = 0;
    bool b = false;
    switch (s.type) {
      case ArgumentType::Integer:
        if (!parse_integer(value, i)) fail(s.name, "must be an integer, got \"" + value + "\"");
        break;
      case ArgumentType::IntegerOrAuto:
        if (value != "auto" && !parse_integer(value, i))
          fail(s.name, "must be an integer or \"auto\", got \"" + value + "\"");
        break;
      case ArgumentType::Float:
        if (!parse_float(value, f)) fail(s.name, "must be a number, got \"" + value + "\"");
        break;
      case ArgumentType::Boolean:
        if (!parse_boolean(value, b)) fail(s.name, "must be true or false, got \"" + value + "\"");
        break;
      case ArgumentType::String:
      case ArgumentType::Path:
        break;
    }
  }
}

const ArgumentSpec& ProcessorArguments::spec(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return s;
  throw std::logic_error("processor " + processor_ + " has no argument " + name);
}

bool ProcessorArguments::is_set(const std::string& name) const {
  return !text(name).empty();
}

std::string ProcessorArguments::text(const std::string& name) const {
  for (const auto& v : values_)
    if (v.first == name) return v.second;
  return spec(name).default_value;
}

int64_t ProcessorArguments::integer(const std::string& name) const {
  int64_t value = 0;
  if (!parse_integer(text(name), value)) fail(name, "must be an integer, got \"" + text(name) + "\"");
  return value;
}

double ProcessorArguments::number(const std::string& name) const {
  double value = 0;
  if (!parse_float(text(name), value)) fail(name, "must be a number, got \"" + text(name) + "\"");
  return value;
}

bool ProcessorArguments::flag(const std::string& name) const {
  bool value = false;
  if (!parse_boolean(text(name), value)) fail(name, "must be true or false, got \"" + text(name) + "\"");
  return value;
}

bool ProcessorArguments::is_auto(const std::string& name) const { return text(name) == "auto"; }

bool ProcessorArguments::accepts(const std::string& name) const {
  return std::any_of(specs_.begin(), specs_.end(), [&](const ArgumentSpec& s) { return s.name == name; });
}

void ProcessorArguments::fail(const std::string& name, const std::string& message) const {
  throw Error(processor_ + ": argument \"" + name + "\" " + message);
}

Processor::Processor(const ProcessorArguments& arguments)
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
      for (ArgumentSpec& common : common_arguments())
        if (std::find(spec.hidden_common_arguments.begin(), spec.hidden_common_arguments.end(), common.name) ==
            spec.hidden_common_arguments.end())
          spec.arguments.push_back(common);
    return list;
  }();
  return specs;
}

static const ProcessorSpec& find_spec(const std::string& name) {
  for (const ProcessorSpec& spec : processor_specs())
    if (spec.name == name) return spec;
  std::string names;
  for (const ProcessorSpec& spec : processor_specs()) names += (names.empty() ? "" : ", ") + spec.name;
  throw Error("unknown image processor \"" + name + "\", available: " + names);
}

std::unique_ptr<Processor> create_processor(const std::string& uri, const std::string& default_device) {
  ProcessorUri parsed = parse_processor_uri(uri);
  const ProcessorSpec& spec = find_spec(parsed.name);
  const bool has_device = std::any_of(parsed.arguments.begin(), parsed.arguments.end(),
                                      [](const auto& a) { return a.first == "device"; });
  const bool takes_device = std::any_of(spec.arguments.begin(), spec.arguments.end(),
                                        [](const ArgumentSpec& a) { return a.name == "device"; });
  if (!has_device && takes_device) parsed.arguments.emplace_back("device", default_device);
  return spec.create(ProcessorArguments(spec.name, spec.arguments, parsed));
}

std::string processor_help() {
  std::ostringstream out;
  out << "Available image processors:\n\n";
  for (const ProcessorSpec& spec : processor_specs()) out << "    \"" << spec.name << "\"  " << spec.summary << "\n";
  out << "\nUse --image-processor-help NAME for a processor's arguments.\n";
  return out.str();
}

std::string processor_help(const std::string& name) {
  const ProcessorSpec& spec = find_spec(name);
  std::ostringstream out;
  out << spec.name << ":\n    " << spec.summary << "\n\n    arguments:\n";
  for (const ArgumentSpec& a : spec.arguments) {
    out << "        " << a.name << " (" << type_name(a.type) << ")";
    if (!a.default_value.empty()) out << ", default: " << a.default_value;
    else if (!a.optional) out << ", required";
    out << "\n            " << a.help << "\n";
  }
  if (!spec.details.empty()) out << "\n" << spec.details;
  return out.str();
}

}  // namespace uprez
