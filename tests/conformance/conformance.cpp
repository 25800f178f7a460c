// uprez-conformance: checks uprez against reference data.
//
//   uprez-conformance [--fixtures DIR] [--filter ARCH] [--models DIR]
//
// --fixtures names one fixture set (a folder with index.json) or a folder of sets. For a spandrel set, every case
// is loaded the way users load models (load_state_dict + load_model), its detected metadata is compared with
// meta.json, and the model's output for input.npy with output.npy within the case's tolerances. Set kinds
// without a checker yet are reported as skipped. For an ncnn set (<model>/<case>/meta.json, made by the real ncnn
// library), each model's <models>/ncnn/<model>.param/.bin is run by uprez's ncnn runtime on input.npy, as the
// case's meta.json says (raw, or Real-ESRGAN-ncnn-vulkan's tiling), and compared with output.npy (atol 2e-3 unless
// meta.json suggests another). --models names the real-weight folder, which also holds the golden/ PNGs compared
// with uprez's 8-bit output (within 1/255). --filter restricts all of these to one architecture id; for ncnn sets
// it takes "ncnn" or one model name.
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
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "arch/architecture.h"
#include "core/error.h"
#include "image/image_io.h"
#include "image/image_tensor.h"
#include "io/model_file.h"
#include "io/npy.h"
#include "ncnn/net.h"
#include "ncnn/param_file.h"
#include "conformance/diffusion_cases.h"
#include "conformance/report.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace uprez::conformance {
namespace {

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
  std::vector<torch::Tensor> draws;
  for (const json& draw : meta.value("random_draws", json::array()))
    draws.push_back(read_npy((case_dir / draw.at("file").get<std::string>()).string()));
  if (!draws.empty()) model.network->replay_random_draws(std::move(draws));
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

// ---- ncnn fixture sets ----

// The case folders of an ncnn set, <model>/<case>/ with a meta.json, sorted.
std::vector<fs::path> ncnn_case_dirs(const fs::path& root) {
  std::vector<fs::path> cases;
  for (const auto& model : fs::directory_iterator(root)) {
    if (!model.is_directory()) continue;
    for (const auto& item : fs::directory_iterator(model.path()))
      if (item.is_directory() && fs::exists(item.path() / "meta.json")) cases.push_back(item.path());
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

// An ncnn set's cases name the blobs that were fed and read.
bool is_ncnn_set(const std::vector<fs::path>& case_dirs) {
  if (case_dirs.empty()) return false;
  try {
    return read_json(case_dirs.front() / "meta.json").contains("input_blob");
  } catch (const std::exception&) {
    return false;
  }
}

// The layer types a .param file uses that uprez does not implement, sorted.
std::vector<std::string> unimplemented_layer_types(const std::string& param_path) {
  std::set<std::string> missing;
  for (const ncnn::ParamLayer& layer : ncnn::read_param_file(param_path).layers)
    if (!ncnn::create_layer(layer.type)) missing.insert(layer.type);
  return {missing.begin(), missing.end()};
}

// Real-ESRGAN-ncnn-vulkan's tiling of a (c, h, w) image: tiles of `tile_size` (0: the whole image), each run with
// `prepadding` pixels of context on every side, taken from the image where it has them and mirrored (reflect101)
// beyond its edges; the centre (tile * scale) of each output goes into the result.
torch::Tensor run_tiled(const ncnn::Net& net, const torch::Tensor& image, const std::string& input_blob,
                        const std::string& output_blob, int64_t tile_size, int64_t prepadding, int64_t scale) {
  const int64_t height = image.size(1);
  const int64_t width = image.size(2);
  const int64_t tile_height = tile_size > 0 ? tile_size : height;
  const int64_t tile_width = tile_size > 0 ? tile_size : width;
  namespace F = torch::nn::functional;
  const torch::Tensor padded =
      F::pad(image.unsqueeze(0), F::PadFuncOptions({prepadding, prepadding, prepadding, prepadding})
                                     .mode(torch::kReflect))
          .squeeze(0);
  torch::Tensor result;
  for (int64_t y0 = 0; y0 < height; y0 += tile_height) {
    const int64_t y1 = std::min(y0 + tile_height, height);
    for (int64_t x0 = 0; x0 < width; x0 += tile_width) {
      const int64_t x1 = std::min(x0 + tile_width, width);
      const torch::Tensor tile =
          padded.slice(1, y0, y1 + 2 * prepadding).slice(2, x0, x1 + 2 * prepadding).contiguous();
      const torch::Tensor output = net.run(tile, input_blob, output_blob);
      if (output.dim() != 3 || output.size(1) != tile.size(1) * scale || output.size(2) != tile.size(2) * scale)
        throw std::runtime_error("a tile of " + shape_string(tile) + " gave " + shape_string(output) +
                                 ", expected " + std::to_string(scale) + "x its size");
      if (!result.defined()) result = torch::empty({output.size(0), height * scale, width * scale}, output.options());
      result.slice(1, y0 * scale, y1 * scale)
          .slice(2, x0 * scale, x1 * scale)
          .copy_(output.slice(1, prepadding * scale, prepadding * scale + (y1 - y0) * scale)
                     .slice(2, prepadding * scale, prepadding * scale + (x1 - x0) * scale));
    }
  }
  return result;
}

Outcome check_ncnn_case(const ncnn::Net& net, const fs::path& case_dir) {
  const json meta = read_json(case_dir / "meta.json");
  const torch::Tensor input = read_npy((case_dir / "input.npy").string()).to(torch::kFloat32);
  const torch::Tensor expected = read_npy((case_dir / "output.npy").string()).to(torch::kFloat32);
  if (input.dim() != 4 || input.size(0) != 1)
    return Outcome{{"input.npy is " + shape_string(input) + ", expected (1, c, h, w)"}, std::nullopt};
  const std::string input_blob = meta.at("input_blob").get<std::string>();
  const std::string output_blob = meta.at("output_blob").get<std::string>();
  const std::string mode = meta.at("mode").get<std::string>();  // "raw: ..." or "pipeline: ..."

  torch::Tensor output;
  if (mode.rfind("raw", 0) == 0) {
    output = net.run(input[0], input_blob, output_blob);
  } else if (mode.rfind("pipeline", 0) == 0) {
    const json& pipeline = meta.at("pipeline");
    output = run_tiled(net, input[0], input_blob, output_blob, pipeline.at("tilesize").get<int64_t>(),
                       pipeline.at("prepadding").get<int64_t>(), meta.at("scale").get<int64_t>());
  } else {
    return Outcome{{"unknown mode " + json(mode.substr(0, mode.find(':'))).dump()}, std::nullopt};
  }
  output = output.unsqueeze(0).to(torch::kCPU, torch::kFloat32);

  Outcome outcome;
  if (!output.sizes().equals(expected.sizes())) {
    outcome.problems.push_back("output shape " + shape_string(output) + ", expected " + shape_string(expected));
    return outcome;
  }
  const double tolerance = meta.value("suggested_tolerance", json::object()).value("atol", 2e-3);
  outcome.max_abs_err = (output - expected).abs().max().item<double>();
  // NaN fails the comparison, hence the negation.
  if (!(*outcome.max_abs_err <= tolerance))
    outcome.problems.push_back("max_abs_err above tolerance " + json(tolerance).dump());
  return outcome;
}

void check_ncnn_set(const std::string& set_name, const std::vector<fs::path>& case_dirs, const fs::path& models,
                    const std::string& filter, Report& report) {
  std::map<std::string, std::vector<fs::path>> cases_by_model;
  for (const fs::path& case_dir : case_dirs)
    cases_by_model[case_dir.parent_path().filename().string()].push_back(case_dir);

  for (const auto& [model, cases] : cases_by_model) {
    if (!filter.empty() && filter != "ncnn" && filter != model) continue;
    const auto case_name = [&](const fs::path& case_dir) {
      return set_name + "/" + model + "/" + case_dir.filename().string();
    };
    const auto skip_all = [&](const std::string& reason) {
      for (const fs::path& case_dir : cases) report.skip(case_name(case_dir), reason);
    };
    const fs::path param = models / "ncnn" / (model + ".param");
    const fs::path bin = models / "ncnn" / (model + ".bin");
    if (!fs::exists(param) || !fs::exists(bin)) {
      skip_all("model files missing: " + param.string());
      continue;
    }

    std::optional<ncnn::Net> net;
    std::string load_error;
    try {
      const std::vector<std::string> missing = unimplemented_layer_types(param.string());
      if (!missing.empty()) {
        std::string reason = "layer types not implemented:";
        for (const std::string& type : missing) reason += " " + type;
        skip_all(reason);
        continue;
      }
      net = ncnn::Net::load(param.string(), bin.string());
    } catch (const std::exception& error) {
      load_error = one_line_message(error);
    }
    for (const fs::path& case_dir : cases) {
      if (net)
        report.pass_or_fail(case_name(case_dir), guarded([&] { return check_ncnn_case(*net, case_dir); }));
      else
        report.pass_or_fail(case_name(case_dir), Outcome{{load_error}, std::nullopt});
    }
  }
}

// ---- any fixture set ----

void check_fixture_set(const fs::path& root, const fs::path& models, const std::string& filter, Report& report) {
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
  if (is_spandrel_set(index)) {
    check_spandrel_set(root, set_name, index, filter, report);
    return;
  }
  if (is_diffusion_set(index)) {
    check_diffusion_set(root, index, filter, report);
    return;
  }
  const std::vector<fs::path> ncnn_cases = ncnn_case_dirs(root);
  if (is_ncnn_set(ncnn_cases))
    check_ncnn_set(set_name, ncnn_cases, models, filter, report);
  else if (filter.empty())
    report.skip(set_name, "no checker for this set kind yet");
}

void check_fixtures(const fs::path& fixtures, const fs::path& models, const std::string& filter, Report& report) {
  if (!fs::is_directory(fixtures)) {
    report.skip(fixtures.string(), "fixtures folder missing");
    return;
  }
  if (fs::exists(fixtures / "index.json") || is_ncnn_set(ncnn_case_dirs(fixtures))) {
    check_fixture_set(fixtures, models, filter, report);
    return;
  }
  std::vector<fs::path> sets;
  for (const auto& item : fs::directory_iterator(fixtures))
    if (item.is_directory()) sets.push_back(item.path());
  std::sort(sets.begin(), sets.end());
  for (const fs::path& set : sets) check_fixture_set(set, models, filter, report);
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
  app.add_option("--fixtures", fixtures, "a fixture set (folder with index.json, or an ncnn set) or a folder of sets")
      ->capture_default_str();
  app.add_option("--filter", filter, "check only this architecture id (e.g. ESRGAN)");
  app.add_option("--models", models, "real-weight models folder (golden/, ncnn/)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  uprez::conformance::Report report;
  uprez::conformance::check_fixtures(fixtures, models, filter, report);
  uprez::conformance::check_goldens(models, filter, report);
  report.summary();
  return report.any_failed() ? EXIT_FAILURE : EXIT_SUCCESS;
}
