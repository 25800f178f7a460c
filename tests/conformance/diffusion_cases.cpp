#include "conformance/diffusion_cases.h"

#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include "core/error.h"
#include "diffusion/model/json_config.h"
#include "diffusion/model/model_folder.h"
#include "diffusion/pipelines/upscale_x4.h"
#include "image/image_io.h"
#include "io/npy.h"

namespace uprez::conformance {
namespace diffusion_cases {

namespace fs = std::filesystem;
using nlohmann::json;

// Absolute tolerance of the recorded intermediates (text embeddings, first UNet call, step latents).
constexpr double kIntermediateTolerance = 1e-3;

std::vector<std::string> texts(const json& value) {
  if (value.is_null()) return {};
  if (value.is_string()) return {value.get<std::string>()};
  return value.get<std::vector<std::string>>();
}

// The case's draws in the pipeline's order: the low-res noise, the initial latents, then the scheduler's.
RecordedNoise recorded_noise(const fs::path& dir, const json& meta) {
  std::vector<torch::Tensor> draws;
  std::vector<std::string> roles;
  const json& order = meta.at("random_draws_in_order");
  for (size_t i = 0; i < order.size(); ++i) {
    draws.push_back(read_npy((dir / order[i].at("file").get<std::string>()).string()));
    roles.push_back(order[i].at("role").get<std::string>());
    if (i == 0) {
      draws.push_back(read_npy((dir / meta.at("initial_latents").at("file").get<std::string>()).string()));
      roles.push_back("initial_latents");
    }
  }
  return RecordedNoise(std::move(draws), std::move(roles));
}

double max_abs(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64).cpu() - b.to(torch::kFloat64).cpu()).abs().max().item<double>();
}

void compare(std::vector<std::string>& problems, const std::string& what, const torch::Tensor& ours,
             const torch::Tensor& reference, double tolerance) {
  if (ours.sizes() != reference.sizes()) {
    problems.push_back(what + ": shape differs");
    return;
  }
  const double err = max_abs(ours, reference);
  if (!(err <= tolerance)) {
    std::ostringstream message;
    message << what << " max_abs_err=" << err << " > " << tolerance;
    problems.push_back(message.str());
  }
}

torch::Tensor input_batch(const fs::path& dir, const json& meta, int64_t multiple) {
  std::vector<torch::Tensor> images;
  for (int64_t i = 0; i < meta.at("input").at("count").get<int64_t>(); ++i)
    images.push_back(preprocess_x4_image(read_image((dir / ("input_" + std::to_string(i) + ".png")).string()), multiple));
  return torch::cat(images);
}

X4Request request_for(const json& meta, const torch::Tensor& image) {
  X4Request r;
  r.image = image;
  r.prompts = texts(meta.at("prompt"));
  r.negative_prompts = texts(meta.at("negative_prompt"));
  r.images_per_prompt = meta.value("num_images_per_prompt", int64_t{1});
  r.steps = meta.at("num_inference_steps").get<int64_t>();
  r.guidance_scale = meta.at("guidance_scale").get<double>();
  r.noise_level = meta.value("noise_level", int64_t{20});
  r.eta = meta.value("eta", 0.0);
  return r;
}

void compare_intermediates(std::vector<std::string>& problems, const fs::path& dir, const X4Trace& trace,
                           const torch::Tensor& image) {
  compare(problems, "preprocessed image", image, read_npy((dir / "preprocessed_image.npy").string()), 1e-6);
  compare(problems, "text embeddings", trace.prompt_embeds,
          read_npy((dir / "unet_call0_encoder_hidden_states.npy").string()), kIntermediateTolerance);
  compare(problems, "first UNet call", trace.first_unet_output, read_npy((dir / "unet_call0_output.npy").string()),
          kIntermediateTolerance);
  compare(problems, "step latents", torch::stack(trace.step_latents), read_npy((dir / "step_latents.npy").string()),
          kIntermediateTolerance);
}

Outcome check_x4_case(X4UpscalePipeline& pipeline, const fs::path& dir, const json& meta) {
  pipeline.set_scheduler(make_scheduler(meta.at("scheduler_class").get<std::string>(),
                                        JsonConfig::read((dir / meta.at("scheduler_config_file").get<std::string>()).string())));
  const torch::Tensor image = input_batch(dir, meta, pipeline.image_multiple());
  RecordedNoise noise = recorded_noise(dir, meta);
  X4Trace trace;
  const torch::Tensor output = pipeline.run(request_for(meta, image), noise, {}, &trace).permute({0, 2, 3, 1});
  Outcome outcome;
  compare_intermediates(outcome.problems, dir, trace, image);
  const torch::Tensor reference = read_npy((dir / "output.npy").string());
  compare(outcome.problems, "output", output, reference, meta.at("tolerance_max_abs").get<double>());
  if (output.sizes() == reference.sizes()) {
    outcome.max_abs_err = max_abs(output, reference);
    const double mean = (output.to(torch::kFloat64) - reference.to(torch::kFloat64)).abs().mean().item<double>();
    if (mean > meta.at("tolerance_mean_abs").get<double>())
      outcome.problems.push_back("output mean_abs_err=" + std::to_string(mean));
  }
  if (noise.used() != meta.at("random_draws_in_order").size() + 1)
    outcome.problems.push_back("used " + std::to_string(noise.used()) + " of the recorded random draws");
  return outcome;
}

bool selected(const json& entry, const std::string& filter) {
  return filter.empty() || filter == "diffusion" || filter == entry.value("model_type", "") ||
         filter == entry.value("id", "");
}

// The reason a case cannot be checked yet, or "".
std::string unsupported(const json& entry, const json& meta) {
  const std::string type = entry.value("model_type", "");
  if (type != "torch-upscaler-x4") return type + " is not implemented yet (issue 17)";
  const std::string scheduler = meta.value("scheduler_class", "");
  if (scheduler != "DDIMScheduler" && scheduler != "DDPMScheduler")
    return scheduler + " is not implemented yet (issue 17)";
  return "";
}

}  // namespace diffusion_cases

bool is_diffusion_set(const nlohmann::json& index) {
  return index.is_object() && index.contains("cases") && index.contains("diffusers");
}

void check_diffusion_set(const std::filesystem::path& root, const nlohmann::json& index, const std::string& filter,
                         Report& report) {
  std::map<std::string, std::shared_ptr<X4UpscalePipeline>> pipelines;
  for (const nlohmann::json& entry : index.at("cases")) {
    if (!diffusion_cases::selected(entry, filter)) continue;
    const std::string name = "diffusion/" + entry.value("id", "?");
    const std::filesystem::path dir = root / entry.at("dir").get<std::string>();
    const nlohmann::json meta = read_json(dir / "meta.json");
    const std::string reason = diffusion_cases::unsupported(entry, meta);
    if (!reason.empty()) {
      report.skip(name, reason);
      continue;
    }
    report.pass_or_fail(name, guarded([&] {
      std::shared_ptr<X4UpscalePipeline>& pipeline = pipelines[entry.at("model_dir").get<std::string>()];
      if (!pipeline)
        pipeline = std::make_shared<X4UpscalePipeline>(X4UpscalePipeline::load(
            ModelFolder::open({(root / entry.at("model_dir").get<std::string>()).string(), "", ""}), {}));
      return diffusion_cases::check_x4_case(*pipeline, dir, meta);
    }));
  }
}

}  // namespace uprez::conformance
