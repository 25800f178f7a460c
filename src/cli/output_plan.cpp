#include "cli/output_plan.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "core/output_path.h"
#include "image/image_io.h"
#include "media/media_file.h"

namespace fs = std::filesystem;

namespace uprez {

std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    std::error_code ec;
    if (fs::is_directory(input, ec)) {
      std::vector<std::string> found;
      for (const auto& entry : fs::directory_iterator(input, ec)) {
        const std::string extension = entry.path().extension().string();
        if (entry.is_regular_file() && (is_image_extension(extension) || is_animation_extension(extension)))
          found.push_back(entry.path().string());
      }
      if (found.empty()) throw Error(input + ": folder contains no supported image, animation or video files");
      std::sort(found.begin(), found.end());
      files.insert(files.end(), found.begin(), found.end());
    } else if (fs::is_regular_file(input, ec)) {
      files.push_back(input);
    } else {
      throw Error(input + ": input file not found");
    }
  }
  return files;
}

bool is_folder_spec(const std::string& path) {
  std::error_code ec;
  return !path.empty() && (path.back() == '/' || fs::is_directory(path, ec));
}

namespace output_plan {

std::string processed_name(const std::string& input, size_t index) {
  const fs::path p(input);
  return p.stem().string() + "_processed_" + std::to_string(index + 1) + p.extension().string();
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  if (fs::exists(a, ec) && fs::exists(b, ec)) return fs::equivalent(a, b, ec);
  return fs::weakly_canonical(a, ec) == fs::weakly_canonical(b, ec);
}

}  // namespace output_plan

std::vector<PlannedOutput> plan_outputs(const std::vector<std::string>& inputs,
                                        const std::vector<std::string>& outputs, bool overwrite) {
  const bool one_folder = outputs.size() == 1 && is_folder_spec(outputs[0]);
  if (!outputs.empty() && !one_folder && outputs.size() != inputs.size())
    throw Error("--output: " + std::to_string(outputs.size()) + " outputs given for " +
                std::to_string(inputs.size()) + " inputs (give one per input, or one folder ending in '/')");

  std::vector<PlannedOutput> plan;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string& input = inputs[i];
    std::string output;
    if (one_folder) {
      output = (fs::path(outputs[0]) / output_plan::processed_name(input, i)).string();
    } else if (outputs.empty()) {
      // Without -o the result goes beside the input; the input itself is never replaced.
      output = (fs::path(input).parent_path() / output_plan::processed_name(input, i)).string();
    } else if (is_folder_spec(outputs[i])) {
      output = (fs::path(outputs[i]) / output_plan::processed_name(input, i)).string();
    } else {
      output = outputs[i];
      if (output_plan::same_file(output, input) && !overwrite)
        output = (fs::path(input).parent_path() / output_plan::processed_name(input, i)).string();
    }
    const std::string extension = fs::path(output).extension().string();
    if (!is_image_extension(extension) && !is_animation_extension(extension))
      throw Error(output + ": unsupported output format \"" + extension +
                  "\" (use .png, .jpg, .webp, .bmp or .tiff; for animations and videos " + kAnimationExtensionsText +
                  ")");
    if (!overwrite) output = avoid_existing_path(output);
    plan.push_back({input, output});
  }
  return plan;
}

}  // namespace uprez
