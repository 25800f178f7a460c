// Image processors: named steps of an image-process chain, created from URIs (`upscaler;model=x.pth`), each
// with typed, documented arguments (uri/arguments.h). The registry validates URIs and prints
// --image-processor-help.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "image/image.h"
#include "uri/arguments.h"

namespace uprez {

// Progress of a long step: done out of total units (tiles), for the progress bar.
using ProgressCallback = std::function<void(int64_t done, int64_t total)>;

class Processor {
 public:
  explicit Processor(const UriArguments& arguments);
  virtual ~Processor() = default;

  // Runs the processor, writes the debug copy named by output-file, and offloads models when asked.
  Image apply(const Image& image, const ProgressCallback& progress = {});
  // True when the processor runs before image-process's --resize (argument pre-resize).
  bool runs_before_resize() const { return pre_resize_; }
  virtual std::string describe() const = 0;

 protected:
  virtual Image process(const Image& image, const ProgressCallback& progress) = 0;
  // Frees device memory after use (argument model-offload); a no-op for processors without models.
  virtual void offload() {}
  const std::string& device_name() const { return device_; }

 private:
  std::string device_;
  std::string output_file_;
  bool output_overwrite_ = false;
  bool model_offload_ = false;
  bool pre_resize_ = false;
};

struct ProcessorSpec {
  std::string name;
  std::string summary;
  std::vector<ArgumentSpec> arguments;  // processor-specific; the common ones are added by the registry
  std::function<std::unique_ptr<Processor>(const UriArguments&)> create;
  // Common arguments this processor does not take (as dgenerate hides device and model-offload for
  // upscaler-ncnn).
  std::vector<std::string> hidden_common_arguments = {};
  // Printed after the arguments by --image-processor-help NAME (e.g. the upscaler's architectures).
  std::string details = {};
};

// Every processor, with the common arguments (device, pre-resize, output-file, output-overwrite,
// model-offload) appended to each.
const std::vector<ProcessorSpec>& processor_specs();

// Parses and validates `uri` and creates the processor; `default_device` fills in a missing device argument.
std::unique_ptr<Processor> create_processor(const std::string& uri, const std::string& default_device);

// --image-processor-help: the list of processors, or one processor's arguments (Error for an unknown name).
std::string processor_help();
std::string processor_help(const std::string& name);

}  // namespace uprez
