// Which file each image-process input is written to, by dgenerate's rules (`-o` files or one `dir/`,
// `<stem>_processed_<i><ext>` beside the input, `_duplicate_<k>` instead of overwriting), plus folder inputs.
#pragma once

#include <string>
#include <vector>

namespace uprez {

struct PlannedOutput {
  std::string input;
  std::string output;
};

// Replaces folder inputs by their supported image files (sorted); throws Error for a missing input or a
// folder without images.
std::vector<std::string> expand_inputs(const std::vector<std::string>& inputs);

// True for an existing folder or a path ending in '/' (a folder to be created).
bool is_folder_spec(const std::string& path);

// Assigns outputs; `overwrite` (-ox) allows replacing existing files, including an input only when the
// output names it explicitly. Throws Error for a count mismatch or an unsupported output extension.
std::vector<PlannedOutput> plan_outputs(const std::vector<std::string>& inputs,
                                        const std::vector<std::string>& outputs, bool overwrite);

}  // namespace uprez
