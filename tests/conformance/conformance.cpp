// uprez-conformance: checks uprez against reference data.
//
//   uprez-conformance [--fixtures DIR] [--filter ARCH] [--models DIR]
//
// --fixtures names one fixture set (a folder with index.json) or a folder of sets. For a spandrel set, every case
// is loaded the way users load models (load_state_dict + load_model), its detected metadata is compared with
// meta.json, and the model's output for input.npy with output.npy within the case's tolerances. Set kinds
// without a checker yet are reported as skipped. --models names the real-weight folder whose golden/ PNGs are
// compared with uprez's 8-bit output (within 1/255). --filter restricts both to one architecture id.
//
// Prints one line per case, "PASS|FAIL|SKIP <name> [max_abs_err=<e>] [(<reason>)]", then
// "N passed, M failed, K skipped"; exits 1 when a case failed.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "arch/architecture.h"
#include "image/image_io.h"
#include "image/image_tensor.h"
#include "io/model_file.h"
#include "io/npy.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace uprez::conformance {
namespace {

// ---- reporting ----

struct Outcome {
  std::vector<std::string> problems;  // empty: passed
  std::optional<double> max_abs_err;
};

class Report {
 public:
  void pass_or_fail(const std::string& name, const Outcome& outcome) {
    std::string reason;
    for (const std::string& problem : outcome.problems) reason += (reason.empty() ? "" : "; ") + problem;
    if (outcome.problems.empty()) {
      ++passed_;
      print("PASS", name, outcome.max_abs_err, "");
    } else {
      ++failed_;
      print("FAIL", name, outcome.max_abs_err, reason);
    }
  }
  void skip(const std::string& name, const std::string& reason) {
    ++skipped_;
    print("SKIP", name, std::nullopt, reason);
  }
  void summary() const {
    std::cout << passed_ << " passed, " << failed_ << " failed, " << skipped_ << " skipped" << std::endl;
  }
  bool any_failed() const { return failed_ > 0; }

 private:
  static void print(const char* verdict, const std::string& name, std::optional<double> max_abs_err,
                    const std::string& reason) {
    std::cout << verdict << " " << name;
    if (max_abs_err) std::cout << " max_abs_err=" << *max_abs_err;
    if (!reason.empty()) std::cout << " (" << reason << ")";
    std::cout << std::endl;
  }

  int passed_ = 0;
  int failed_ = 0;
  int skipped_ = 0;
};

// Runs `check` and turns any exception into a failure with its message, so that a bad case never stops the run.
template <typename Check>
Outcome guarded(Check&& check) {
  try {
    return check();
  } catch (const std::exception& error) {
    std::string message = error.what();
    message = message.substr(0, message.find('\n'));  // LibTorch errors append a backtrace
    return Outcome{{message}, std::nullopt};
  }
}

// ---- helpers ----

json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  return json::parse(in);
}

bool is_implemented(const std::string& architecture_id) {
  const auto& registry = architectures();
  return std::any_of(registry.begin(), registry.end(),
                     [&](const Architecture& arch) { return architecture_id == arch.id; });
}

bool matches_filter(const std::string& architecture_id, const std::string& filter) {
  return filter.empty() || architecture_id == filter;
}

// JSON equality where numbers compare by value (1 == 1.0) and containers element by element.
bool same_value(const json& ours, const json& reference) {
  if (ours.is_number() && reference.is_number()) {
    const double a = ours.get<double>();
    const double b = reference.get<double>();
    return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b));
  }
  if (ours.is_array() && reference.is_array()) {
    if (ours.size() != reference.size()) return false;
    for (size_t i = 0; i < ours.size(); ++i)
      if (!same_value(ours[i], reference[i])) return false;
    return true;
  }
  if (ours.is_object() && reference.is_object()) {
    if (ours.size() != reference.size()) return false;
    for (const auto& item : reference.items())
      if (!ours.contains(item.key()) || !same_value(ours[item.key()], item.value())) return false;
    return true;
  }
  return ours == reference;
}

template <typename Value>
void expect_equal(std::vector<std::string>& problems, const std::string& what, const Value& ours,
                  const Value& reference) {
  if (ours == reference) return;
  std::ostringstream message;
  message << what << " " << json(ours).dump() << ", expected " << json(reference).dump();
  problems.push_back(message.str());
}

std::string tiling_name(Tiling tiling) {
  std::string name = to_string(tiling);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
  return "ModelTiling." + name;
}

// Compares what detection reported with spandrel's descriptor in meta.json.
void compare_descriptor(const ModelInfo& info, const json& meta, std::vector<std::string>& problems) {
  expect_equal(problems, "architecture", info.architecture_id, meta.at("architecture").get<std::string>());
  expect_equal(problems, "architecture name", info.architecture_name, meta.at("architecture_name").get<std::string>());
  expect_equal(problems, "scale", info.scale, meta.at("scale").get<int>());
  expect_equal(problems, "input channels", info.input_channels, meta.at("input_channels").get<int>());
  expect_equal(problems, "output channels", info.output_channels, meta.at("output_channels").get<int>());
  expect_equal(problems, "purpose", std::string(to_string(info.purpose)), meta.at("purpose").get<std::string>());
  expect_equal(problems, "tags", info.tags, meta.at("tags").get<std::vector<std::string>>());
  const json& size = meta.at("size_requirements");
  expect_equal(problems, "size_requirements",
               json{{"minimum", info.size_requirements.minimum},
                    {"multiple_of", info.size_requirements.multiple_of},
                    {"square", info.size_requirements.square}},
               json{{"minimum", size.at("minimum")}, {"multiple_of", size.at("multiple_of")},
                    {"square", size.at("square")}});
  expect_equal(problems, "tiling", tiling_name(info.tiling), meta.at("tiling").get<std::string>());
  expect_equal(problems, "supports_half", info.supports_half, meta.at("supports_half").get<bool>());
  expect_equal(problems, "supports_bfloat16", info.supports_bfloat16, meta.at("supports_bfloat16").get<bool>());
  for (const auto& item : meta.at("detected_hyperparameters").items()) {
    if (!info.hyperparameters.contains(item.key()))
      problems.push_back("hyperparameter " + item.key() + " missing");
    else if (!same_value(info.hyperparameters.at(item.key()), item.value()))
      problems.push_back("hyperparameter " + item.key() + " " + info.hyperparameters.at(item.key()).dump() +
                         ", expected " + item.value().dump());
  }
}

std::string shape_string(const torch::Tensor& tensor) {
  std::ostringstream out;
  out << tensor.sizes();
  return out.str();
}

// ---- spandrel fixture sets ----

Outcome check_spandrel_case(const fs::path& root, const json& entry) {
  const fs::path case_dir = root / entry.at("path").get<std::string>();
  const json meta = read_json(case_dir / "meta.json");
  const std::string model_file = (root / entry.at("model_file").get<std::string>()).string();
  const Model model = load_model(load_state_dict(model_file), model_file);

  Outcome outcome;
  compare_descriptor(model.info, meta, outcome.problems);

  const torch::Tensor input = read_npy((case_dir / meta.value("input_file", "input.npy")).string());
  const torch::Tensor expected = read_npy((case_dir / meta.value("output_file", "output.npy")).string());
  const torch::Tensor output = model(input).to(torch::kCPU, torch::kFloat32);
  if (!output.sizes().equals(expected.sizes())) {
    outcome.problems.push_back("output shape " + shape_string(output) + ", expected " + shape_string(expected));
    return outcome;
  }
  const torch::Tensor error = (output - expected.to(torch::kFloat32)).abs();
  const double max_abs_err = error.max().item<double>();
  const double mean_abs_err = error.mean().item<double>();
  outcome.max_abs_err = max_abs_err;
  const double max_tolerance = entry.at("tolerance_max_abs").get<double>();
  const double mean_tolerance = entry.at("tolerance_mean_abs").get<double>();
  // NaN fails both comparisons, hence the negations.
  if (!(max_abs_err <= max_tolerance))
    outcome.problems.push_back("max_abs_err above tolerance " + json(max_tolerance).dump());
  if (!(mean_abs_err <= mean_tolerance))
    outcome.problems.push_back("mean_abs_err=" + json(mean_abs_err).dump() + " above tolerance " +
                               json(mean_tolerance).dump());
  return outcome;
}

bool is_spandrel_set(const json& index) {
  if (!index.is_object() || !index.contains("cases") || !index["cases"].is_array()) return false;
  const json& cases = index["cases"];
  return !cases.empty() && std::all_of(cases.begin(), cases.end(),
                                       [](const json& entry) { return entry.is_object() && entry.contains("arch"); });
}

void check_spandrel_set(const fs::path& root, const std::string& set_name, const json& index,
                        const std::string& filter, Report& report) {
  for (const json& entry : index["cases"]) {
    const std::string arch = entry.at("arch").get<std::string>();
    if (!matches_filter(arch, filter)) continue;
    const std::string name = set_name + "/" + arch + "/" + entry.value("case", "?");
    if (!is_implemented(arch))
      report.skip(name, "architecture not implemented");
    else
      report.pass_or_fail(name, guarded([&] { return check_spandrel_case(root, entry); }));
  }
}

// A set's name as printed: its folder name.
std::string folder_name(const fs::path& dir) {
  const fs::path normal = dir.lexically_normal();
  return (normal.has_filename() ? normal.filename() : normal.parent_path().filename()).string();
}

void check_fixture_set(const fs::path& root, const std::string& filter, Report& report) {
  const std::string set_name = folder_name(root);
  const fs::path index_path = root / "index.json";
  json index;
  if (fs::exists(index_path)) {
    try {
      index = read_json(index_path);
    } catch (const std::exception& error) {
      report.pass_or_fail(set_name, Outcome{{std::string("index.json: ") + error.what()}, std::nullopt});
      return;
    }
  }
  if (is_spandrel_set(index))
    check_spandrel_set(root, set_name, index, filter, report);
  else if (filter.empty())
    report.skip(set_name, "no checker for this set kind yet");
}

void check_fixtures(const fs::path& fixtures, const std::string& filter, Report& report) {
  if (!fs::is_directory(fixtures)) {
    report.skip(fixtures.string(), "fixtures folder missing");
    return;
  }
  if (fs::exists(fixtures / "index.json")) {
    check_fixture_set(fixtures, filter, report);
    return;
  }
  std::vector<fs::path> sets;
  for (const auto& item : fs::directory_iterator(fixtures))
    if (item.is_directory()) sets.push_back(item.path());
  std::sort(sets.begin(), sets.end());
  for (const fs::path& set : sets) check_fixture_set(set, filter, report);
}

// ---- real-weight goldens ----

// The weights behind each golden image name (see the models folder's README.md and SOURCES.md).
struct GoldenModel {
  const char* name;
  const char* architecture;
  const char* weights;  // relative to the models folder
};
const GoldenModel kGoldenModels[] = {
    {"realesr-general-x4v3", "Compact", "pytorch/compact/realesr-general-x4v3.fp32.pth"},
    {"realesr-general-x4v3.fp16conv", "Compact", "pytorch/compact/realesr-general-x4v3.fp16.safetensors"},
    {"realesr-general-wdn-x4v3", "Compact", "pytorch/compact/realesr-general-wdn-x4v3.fp16.safetensors"},
    {"realesr-animevideov3-x4", "Compact", "pytorch/compact/realesr-animevideov3-x4.fp16.safetensors"},
    {"4xLSDIRCompactC3", "Compact", "pytorch/compact/4xLSDIRCompactC3.fp16.safetensors"},
    {"4x_NTIRE2024_team38_SPAN_ch28", "SPAN", "pytorch/span/4x_NTIRE2024_team38_SPAN_ch28_spandrel.pth"},
    {"2x_dctlsa", "DCTLSA", "pytorch/dctlsa/X2.pt"},
    {"3x_dctlsa", "DCTLSA", "pytorch/dctlsa/X3.pt"},
    {"4x_dctlsa", "DCTLSA", "pytorch/dctlsa/X4.pt"},
    {"DITN_Real_x4", "DITN", "pytorch/ditn/DITN_Real_x4.pth"},
    {"DITN_Real_GAN_x4", "DITN", "pytorch/ditn/DITN_Real_GAN_x4.pth"},
    {"team34_craft_x4", "CRAFT", "pytorch/craft/team34_craft.pth"},
    {"dncnn_25", "DnCNN", "pytorch/dncnn/dncnn_25.pth"},
};

const GoldenModel* find_golden_model(const std::string& name) {
  for (const GoldenModel& model : kGoldenModels)
    if (name == model.name) return &model;
  return nullptr;
}

// Runs the model on the input PNG (samples / 255) and compares round(output * 255) with the golden PNG.
Outcome check_golden(const fs::path& models, const GoldenModel& golden, const fs::path& input_path,
                     const fs::path& golden_path) {
  const std::string weights = (models / golden.weights).string();
  const Model model = load_model(load_state_dict(weights), weights);
  const Image input = read_image(input_path.string());
  const Image reference = read_image(golden_path.string());
  if (input.color_channels() != model.info.input_channels)
    return Outcome{{"input has " + std::to_string(input.color_channels()) + " colour channels, the model takes " +
                    std::to_string(model.info.input_channels)},
                   std::nullopt};

  const torch::Tensor output = model(image_to_tensor(input, 0, model.info.input_channels));
  Image produced(static_cast<int>(output.size(3)), static_cast<int>(output.size(2)),
                 static_cast<int>(output.size(1)), 8);
  store_tensor_rows(produced, output, 0, 0);
  if (produced.width != reference.width || produced.height != reference.height ||
      produced.channels != reference.channels || reference.bit_depth != 8)
    return Outcome{{"output is " + std::to_string(produced.width) + "x" + std::to_string(produced.height) + "x" +
                    std::to_string(produced.channels) + ", golden is " + std::to_string(reference.width) + "x" +
                    std::to_string(reference.height) + "x" + std::to_string(reference.channels) + " " +
                    std::to_string(reference.bit_depth) + "-bit"},
                   std::nullopt};
  int max_difference = 0;
  for (size_t i = 0; i < produced.data.size(); ++i)
    max_difference = std::max(max_difference, std::abs(int{produced.data[i]} - int{reference.data[i]}));

  Outcome outcome;
  outcome.max_abs_err = max_difference / 255.0;
  if (max_difference > 1)
    outcome.problems.push_back("differs by " + std::to_string(max_difference) + "/255, tolerance 1/255");
  return outcome;
}

void check_goldens(const fs::path& models, const std::string& filter, Report& report) {
  const fs::path golden_root = models / "golden";
  if (!fs::is_directory(golden_root)) {
    if (filter.empty()) report.skip(golden_root.string(), "golden images missing");
    return;
  }
  std::vector<fs::path> goldens;  // golden/<source>/<input>/<model>.png
  for (const auto& item : fs::recursive_directory_iterator(golden_root)) {
    const fs::path relative = fs::relative(item.path(), golden_root);
    if (item.is_regular_file() && item.path().extension() == ".png" && *relative.begin() != "inputs")
      goldens.push_back(item.path());
  }
  std::sort(goldens.begin(), goldens.end());

  for (const fs::path& golden_path : goldens) {
    const std::string model_name = golden_path.stem().string();
    const std::string input_name = golden_path.parent_path().filename().string();
    const std::string name = "golden/" + model_name + "/" + input_name;
    const GoldenModel* golden = find_golden_model(model_name);
    if (!golden) {
      if (filter.empty()) report.skip(name, "no weights known for this golden image");
      continue;
    }
    if (!matches_filter(golden->architecture, filter)) continue;
    if (!is_implemented(golden->architecture)) {
      report.skip(name, "architecture not implemented");
      continue;
    }
    const fs::path input_path = golden_root / "inputs" / (input_name + ".png");
    report.pass_or_fail(name, guarded([&] { return check_golden(models, *golden, input_path, golden_path); }));
  }
}

}  // namespace
}  // namespace uprez::conformance

int main(int argc, char** argv) {
  CLI::App app{"Checks uprez against reference fixture sets and golden images."};
  std::string fixtures = uprez::test::fixtures_root();
  std::string models = uprez::test::models_root();
  std::string filter;
  app.add_option("--fixtures", fixtures, "a fixture set (folder with index.json) or a folder of sets")
      ->capture_default_str();
  app.add_option("--filter", filter, "check only this architecture id (e.g. ESRGAN)");
  app.add_option("--models", models, "real-weight models folder with golden/")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  uprez::conformance::Report report;
  uprez::conformance::check_fixtures(fixtures, filter, report);
  uprez::conformance::check_goldens(models, filter, report);
  report.summary();
  return report.any_failed() ? EXIT_FAILURE : EXIT_SUCCESS;
}
