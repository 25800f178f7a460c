// The conformance checker for diffusion fixture sets (index.json "cases" with model_type torch-upscaler-x4/-x2):
// each case is run with its recorded random draws and scheduler config, and the output and recorded
// intermediates are compared within the case's tolerance.
#pragma once
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "conformance/report.h"

namespace uprez::conformance {

bool is_diffusion_set(const nlohmann::json& index);
// `filter`: empty, "diffusion", a model type or a case id.
void check_diffusion_set(const std::filesystem::path& root, const nlohmann::json& index, const std::string& filter,
                         Report& report);

}  // namespace uprez::conformance
