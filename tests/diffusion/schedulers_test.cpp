// DDIM and DDPM schedulers against diffusers 0.32.2: every x4 fixture case's timesteps, low-res noising and first
// step (its recorded draws replayed); other configs' schedules and steps against values diffusers printed; errors.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"
#include "diffusion/model/json_config.h"
#include "diffusion/noise_source.h"
#include "diffusion/schedulers/beta_schedule.h"
#include "diffusion/schedulers/ddim_scheduler.h"
#include "diffusion/schedulers/ddpm_scheduler.h"
#include "io/npy.h"
#include "support/fixtures.h"

namespace uprez {
namespace schedulers_test {

std::string diffusion_root() { return test::fixtures_root() + "/diffusion"; }

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

struct Case {
  std::string dir;
  nlohmann::json meta;
};

// The x4 cases whose scheduler is DDIMScheduler or DDPMScheduler.
std::vector<Case> scheduler_cases() {
  std::vector<Case> cases;
  for (const auto& entry : std::filesystem::directory_iterator(diffusion_root() + "/cases")) {
    const std::string meta_path = entry.path().string() + "/meta.json";
    if (!std::filesystem::exists(meta_path)) continue;
    nlohmann::json meta = read_json(meta_path);
    const std::string cls = meta.value("scheduler_class", "");
    if (meta.value("pipeline", "") == "StableDiffusionUpscalePipeline" &&
        (cls == "DDIMScheduler" || cls == "DDPMScheduler"))
      cases.push_back({entry.path().string(), std::move(meta)});
  }
  std::sort(cases.begin(), cases.end(), [](const Case& a, const Case& b) { return a.dir < b.dir; });
  return cases;
}

// Either scheduler, as the pipeline holds the one its config names.
struct AnyScheduler {
  std::optional<DdimScheduler> ddim;
  std::optional<DdpmScheduler> ddpm;

  static AnyScheduler of(const Case& c) {
    JsonConfig config = JsonConfig::read(c.dir + "/" + c.meta.value("scheduler_config_file", "scheduler_config.json"));
    AnyScheduler s;
    if (c.meta["scheduler_class"] == "DDIMScheduler")
      s.ddim = DdimScheduler::from_config(config);
    else
      s.ddpm = DdpmScheduler::from_config(config);
    return s;
  }
  void set_timesteps(int64_t steps) { ddim ? ddim->set_timesteps(steps) : ddpm->set_timesteps(steps); }
  const std::vector<int64_t>& timesteps() const { return ddim ? ddim->timesteps() : ddpm->timesteps(); }
  double init_noise_sigma() const { return ddim ? ddim->init_noise_sigma() : ddpm->init_noise_sigma(); }
  torch::Tensor step(const torch::Tensor& out, int64_t t, const torch::Tensor& sample, double eta, NoiseSource& n) {
    return ddim ? ddim->step(out, t, sample, eta, n) : ddpm->step(out, t, sample, n);
  }
};

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// The recorded draws after the low-res noise, in order, with their roles.
RecordedNoise scheduler_draws(const Case& c) {
  std::vector<torch::Tensor> draws;
  std::vector<std::string> roles;
  for (const nlohmann::json& draw : c.meta["random_draws_in_order"]) {
    if (draw["role"] == "low_res_noise") continue;
    draws.push_back(read_npy(c.dir + "/" + draw["file"].get<std::string>()));
    roles.push_back(draw["role"]);
  }
  return RecordedNoise(std::move(draws), std::move(roles));
}

// The guided model output of the first UNet call, as the pipeline combines it.
torch::Tensor guided_output(const Case& c) {
  const torch::Tensor output = read_npy(c.dir + "/unet_call0_output.npy");
  if (!c.meta.value("do_classifier_free_guidance", false)) return output;
  const std::vector<torch::Tensor> halves = output.chunk(2);
  return halves[0] + c.meta["guidance_scale"].get<double>() * (halves[1] - halves[0]);
}

TEST(SchedulersTest, FixtureTimesteps) {
  UPREZ_REQUIRE_PATH(diffusion_root() + "/cases");
  const std::vector<Case> cases = scheduler_cases();
  ASSERT_FALSE(cases.empty());
  for (const Case& c : cases) {
    AnyScheduler s = AnyScheduler::of(c);
    s.set_timesteps(c.meta["num_inference_steps"].get<int64_t>());
    std::vector<int64_t> expected;
    for (const nlohmann::json& t : c.meta["timesteps"]) expected.push_back(static_cast<int64_t>(t.get<double>()));
    EXPECT_EQ(s.timesteps(), expected) << c.dir;
    EXPECT_EQ(s.init_noise_sigma(), c.meta["init_noise_sigma"].get<double>()) << c.dir;
  }
}

TEST(SchedulersTest, LowResNoising) {
  const std::string config_path = diffusion_root() + "/models/x4_tiny/low_res_scheduler/scheduler_config.json";
  UPREZ_REQUIRE_PATH(config_path);
  JsonConfig config = JsonConfig::read(config_path);
  const DdpmScheduler low_res = DdpmScheduler::from_config(config);
  int checked = 0;
  double worst = 0;
  for (const Case& c : scheduler_cases()) {
    const int64_t level = c.meta["noise_level"].get<int64_t>();
    EXPECT_EQ(low_res.alphas_cumprod()[level].item<float>(),
              static_cast<float>(c.meta["low_res_noise_alphas_cumprod"].get<double>()))
        << c.dir;
    const std::string image = c.dir + "/preprocessed_image.npy", noise = c.dir + "/noise_00_low_res_noise.npy";
    if (!std::filesystem::exists(image) || !std::filesystem::exists(noise)) continue;
    const torch::Tensor noised = low_res.add_noise(read_npy(image), read_npy(noise), torch::tensor({level}));
    const torch::Tensor unet_sample = read_npy(c.dir + "/unet_call0_sample.npy");
    const double diff = max_abs_diff(noised[0], unet_sample[0].slice(0, 4, 7));
    EXPECT_LE(diff, 1e-6) << c.dir;
    worst = std::max(worst, diff);
    ++checked;
  }
  EXPECT_GT(checked, 0);
  std::cout << "[ schedulers ] low-res noising, max abs difference to diffusers: " << worst << "\n";
}

TEST(SchedulersTest, FirstStepMatchesDiffusers) {
  UPREZ_REQUIRE_PATH(diffusion_root() + "/cases");
  double worst = 0;
  for (const Case& c : scheduler_cases()) {
    AnyScheduler s = AnyScheduler::of(c);
    s.set_timesteps(c.meta["num_inference_steps"].get<int64_t>());
    const torch::Tensor sample = read_npy(c.dir + "/noise_initial_latents.npy") * s.init_noise_sigma();
    const nlohmann::json eta_field = c.meta.value("eta", nlohmann::json());
    const double eta = eta_field.is_number() ? eta_field.get<double>() : 0.0;
    RecordedNoise noise = scheduler_draws(c);
    const torch::Tensor stepped = s.step(guided_output(c), s.timesteps()[0], sample, eta, noise);
    const double diff = max_abs_diff(stepped, read_npy(c.dir + "/step_latents.npy")[0]);
    EXPECT_LE(diff, 1e-5) << c.dir;
    worst = std::max(worst, diff);
    // DDIM draws only when eta > 0; DDPM draws at every timestep above 0.
    EXPECT_EQ(noise.used(), (s.ddim && eta == 0) ? 0u : 1u) << c.dir;
  }
  std::cout << "[ schedulers ] first step, max abs difference to diffusers: " << worst << "\n";
}

// A DDIMScheduler config as the x4 model folder has it, for the tests below to vary.
nlohmann::json x4_ddim_config() {
  return {{"_class_name", "DDIMScheduler"},
          {"beta_end", 0.02},
          {"beta_schedule", "scaled_linear"},
          {"beta_start", 0.0001},
          {"clip_sample", false},
          {"clip_sample_range", 1.0},
          {"dynamic_thresholding_ratio", 0.995},
          {"num_train_timesteps", 1000},
          {"prediction_type", "v_prediction"},
          {"rescale_betas_zero_snr", false},
          {"sample_max_value", 1.0},
          {"set_alpha_to_one", false},
          {"steps_offset", 1},
          {"thresholding", false},
          {"timestep_spacing", "leading"},
          {"trained_betas", nullptr}};
}

// The same fields for a DDPMScheduler (no set_alpha_to_one; variance_type).
nlohmann::json x4_ddpm_config() {
  nlohmann::json json = x4_ddim_config();
  json.erase("set_alpha_to_one");
  json["_class_name"] = "DDPMScheduler";
  json["variance_type"] = "fixed_small";
  return json;
}

DdimScheduler ddim_of(const nlohmann::json& json) {
  JsonConfig config(json, "test/scheduler_config.json");
  return DdimScheduler::from_config(config);
}

DdpmScheduler ddpm_of(const nlohmann::json& json) {
  JsonConfig config(json, "test/scheduler_config.json");
  return DdpmScheduler::from_config(config);
}

// alphas_cumprod at 0, 1, 500, 998 and 999, float32 as diffusers 0.32.2 computed them (hex).
struct ScheduleCase {
  nlohmann::json changes;
  bool ddpm;
  std::vector<double> expected;
};

TEST(SchedulersTest, BetaSchedulesMatchDiffusers) {
  const std::vector<ScheduleCase> cases = {
      {{{"beta_schedule", "linear"}},
       false,
       {0x1.fff2e4p-1, 0x1.ffe32cp-1, 0x1.3ea7b6p-4, 0x1.59758ep-15, 0x1.528ccep-15}},
      {nlohmann::json::object(), false, {0x1.fff2e4p-1, 0x1.ffe57p-1, 0x1.5339a8p-2, 0x1.885dcep-11, 0x1.8084e4p-11}},
      {{{"beta_schedule", "squaredcos_cap_v2"}},
       false,
       {0x1.fffa96p-1, 0x1.fff48ap-1, 0x1.f81992p-2, 0x1.45fbc6p-19, 0x1.4dcd84p-29}},
      {{{"rescale_betas_zero_snr", true}}, false, {0x1.fff2e8p-1, 0x1.ffe514p-1, 0x1.457164p-2, 0x1.57025ep-24, 0}},
      {{{"beta_schedule", "linear"}, {"rescale_betas_zero_snr", true}},
       false,
       {0x1.fff2e4p-1, 0x1.ffe314p-1, 0x1.343564p-4, 0x1.2187aep-28, 0}},
      {{{"beta_schedule", "sigmoid"}},
       true,
       {0x1.ffec72p-1, 0x1.ffd8dp-1, 0x1.320f96p-2, 0x1.53a6cep-15, 0x1.4ce01p-15}},
  };
  for (const ScheduleCase& c : cases) {
    nlohmann::json json = c.ddpm ? x4_ddpm_config() : x4_ddim_config();
    json.update(c.changes);
    const torch::Tensor alphas = c.ddpm ? ddpm_of(json).alphas_cumprod() : ddim_of(json).alphas_cumprod();
    const std::vector<int64_t> at = {0, 1, 500, 998, 999};
    for (size_t i = 0; i < at.size(); ++i)
      EXPECT_EQ(alphas[at[i]].item<float>(), static_cast<float>(c.expected[i])) << c.changes.dump() << " at " << at[i];
  }
}

TEST(SchedulersTest, TrainedBetasReplaceTheSchedule) {
  nlohmann::json json = x4_ddim_config();
  const torch::Tensor betas = ddim_of(json).schedule().betas();
  json["trained_betas"] = std::vector<double>(betas.data_ptr<float>(), betas.data_ptr<float>() + betas.numel());
  json["beta_schedule"] = "linear";
  const std::string path = test::temp_dir() + "/scheduler_config.json";
  std::ofstream(path) << json.dump();
  JsonConfig config = JsonConfig::read(path);
  EXPECT_TRUE(
      torch::equal(DdimScheduler::from_config(config).alphas_cumprod(), ddim_of(x4_ddim_config()).alphas_cumprod()));
}

struct SpacingCase {
  std::string spacing;
  int64_t train, steps;
  std::vector<int64_t> expected;
};

TEST(SchedulersTest, TimestepSpacingsMatchDiffusers) {
  const std::vector<SpacingCase> cases = {
      {"leading", 1000, 1, {1}},
      {"leading", 1000, 7, {853, 711, 569, 427, 285, 143, 1}},
      {"leading", 10, 4, {7, 5, 3, 1}},
      {"trailing", 1000, 1, {999}},
      {"trailing", 1000, 7, {999, 856, 713, 570, 428, 285, 142}},
      {"trailing", 1000, 9, {999, 888, 777, 666, 555, 443, 332, 221, 110}},
      {"trailing", 999, 7, {998, 855, 713, 570, 427, 284, 142}},
      {"trailing", 10, 4, {9, 7, 4, 1}},
      {"linspace", 1000, 1, {0}},
      {"linspace", 1000, 7, {999, 832, 666, 500, 333, 166, 0}},
      {"linspace", 1000, 9, {999, 874, 749, 624, 500, 375, 250, 125, 0}},
      {"linspace", 999, 7, {998, 832, 665, 499, 333, 166, 0}},
  };
  for (const SpacingCase& c : cases) {
    nlohmann::json json = x4_ddim_config();
    json["timestep_spacing"] = c.spacing;
    json["num_train_timesteps"] = c.train;
    DdimScheduler s = ddim_of(json);
    s.set_timesteps(c.steps);
    EXPECT_EQ(s.timesteps(), c.expected) << c.spacing << " " << c.train << " " << c.steps;
  }
}

// Long spacings, summarised as diffusers printed them: count, sum, sum of i * t_i.
TEST(SchedulersTest, LongTimestepSpacingsMatchDiffusers) {
  struct Long {
    std::string spacing;
    int64_t steps, count, sum, weighted;
  };
  const std::vector<Long> cases = {
      {"leading", 999, 999, 499500, 166167000},    {"leading", 333, 333, 166167, 18352296},
      {"trailing", 999, 999, 499001, 165793249},   {"trailing", 333, 333, 166667, 18421435},
      {"linspace", 1000, 1000, 499500, 166167000}, {"linspace", 333, 333, 166334, 18350645}};
  for (const Long& c : cases) {
    nlohmann::json json = x4_ddim_config();
    json["timestep_spacing"] = c.spacing;
    DdimScheduler s = ddim_of(json);
    s.set_timesteps(c.steps);
    int64_t sum = 0, weighted = 0;
    for (size_t i = 0; i < s.timesteps().size(); ++i) {
      sum += s.timesteps()[i];
      weighted += static_cast<int64_t>(i) * s.timesteps()[i];
    }
    EXPECT_EQ(static_cast<int64_t>(s.timesteps().size()), c.count) << c.spacing << " " << c.steps;
    EXPECT_EQ(sum, c.sum) << c.spacing << " " << c.steps;
    EXPECT_EQ(weighted, c.weighted) << c.spacing << " " << c.steps;
  }
}

// Deterministic (2, 4, 3, 3) inputs: model output, sample, unit noise, and weights to summarise a result.
struct StepInputs {
  torch::Tensor model_output, sample, noise, weights;
  StepInputs() {
    const torch::Tensor i = torch::arange(72, torch::kFloat32);
    model_output = (torch::sin(i) * 1.5).reshape({2, 4, 3, 3});
    sample = (torch::cos(i * 0.7) * 2).reshape({2, 4, 3, 3});
    noise = torch::sin(i * 1.3).reshape({2, 4, 3, 3});
    weights = torch::cos(i * 0.37).reshape({2, 4, 3, 3});
  }
};

// A scheduler config given by its changes to diffusers' defaults (as diffusers was run), where to step it, and what
// diffusers printed for that step: the sum, the sum weighted by StepInputs::weights, and element 5 of the result.
struct StepCase {
  nlohmann::json config;
  std::vector<int64_t> at;  // inference steps, index of the timestep stepped at, that timestep
  double eta;
  std::vector<double> expected;
};

void expect_step(const nlohmann::json& config, const std::vector<double>& expected, const StepInputs& in,
                 const torch::Tensor& out) {
  EXPECT_NEAR(out.sum().item<double>(), expected[0], 1e-5) << config.dump();
  EXPECT_NEAR((out.to(torch::kFloat64) * in.weights.to(torch::kFloat64)).sum().item<double>(), expected[1], 1e-5)
      << config.dump();
  EXPECT_NEAR(out.flatten()[5].item<double>(), expected[2], 1e-6) << config.dump();
}

// Steps each case's scheduler once on StepInputs; DDIM must draw noise only for eta > 0, DDPM only above t = 0.
template <class Scheduler, class Step>
void expect_steps(const std::vector<StepCase>& cases, Step step) {
  const StepInputs in;
  for (const StepCase& c : cases) {
    JsonConfig config(c.config, "test/scheduler_config.json");
    Scheduler s = Scheduler::from_config(config);
    s.set_timesteps(c.at[0]);
    ASSERT_EQ(s.timesteps()[c.at[1]], c.at[2]) << c.config.dump();
    RecordedNoise noise({in.noise});
    expect_step(c.config, c.expected, in, step(s, in, c.at[2], c.eta, noise));
    const bool draws = std::is_same<Scheduler, DdimScheduler>::value ? c.eta > 0 : c.at[2] > 0;
    EXPECT_EQ(noise.used(), draws ? 1u : 0u) << c.config.dump();
  }
}

TEST(SchedulersTest, DdimStepsMatchDiffusers) {
  // clang-format off
  const std::vector<StepCase> cases = {
      {{{"prediction_type", "epsilon"}, {"clip_sample", true}, {"set_alpha_to_one", true}, {"steps_offset", 0}},
       {10, 1, 800}, 0.0, {0x1.1a2e4p+1, 0x1.3ad74759ee4c0p-1, -0x1.842d1ep+0}},
      {{{"prediction_type", "epsilon"}, {"clip_sample", true}, {"clip_sample_range", 0.5}},
       {10, 9, 0}, 0.0, {0x1.737634p+0, -0x1.b09216ed62df8p-2, -0x1p-1}},
      {{{"prediction_type", "sample"}, {"thresholding", true}, {"dynamic_thresholding_ratio", 0.9},
        {"sample_max_value", 1.5}, {"clip_sample", false}},
       {7, 2, 568}, 0.5, {0x1.84ab6ep-1, -0x1.df3027f306338p-2, -0x1.a210b4p+0}},
      {{{"prediction_type", "v_prediction"}, {"timestep_spacing", "trailing"}, {"set_alpha_to_one", false},
        {"clip_sample", false}},
       {4, 3, 249}, 0.0, {-0x1.704026p+0, -0x1.e3e381166ef6cp+0, -0x1.8c2e7ep-2}},
      {{{"prediction_type", "v_prediction"}, {"timestep_spacing", "linspace"},
        {"beta_schedule", "squaredcos_cap_v2"}, {"clip_sample", false}},
       {5, 1, 749}, 1.0, {-0x1.43b2dap-1, -0x1.989af2190defcp-1, -0x1.36a0dep-2}},
      {{{"prediction_type", "v_prediction"}, {"timestep_spacing", "trailing"},
        {"beta_schedule", "scaled_linear"}, {"rescale_betas_zero_snr", true}, {"clip_sample", false}},
       {5, 0, 999}, 0.3, {0x1.7cdd1p-3, -0x1.06b8a79ac3b44p+0, -0x1.89ae34p+0}},
  };
  // clang-format on
  expect_steps<DdimScheduler>(cases,
                              [](DdimScheduler& s, const StepInputs& in, int64_t t, double eta, NoiseSource& noise) {
                                return s.step(in.model_output, t, in.sample, eta, noise);
                              });
}

TEST(SchedulersTest, DdpmStepsMatchDiffusers) {
  // clang-format off
  const std::vector<StepCase> cases = {
      {{{"variance_type", "fixed_small"}, {"prediction_type", "epsilon"}, {"clip_sample", true}},
       {10, 1, 800}, 0, {0x1.4e1bd8p-2, -0x1.ebbb8a0ff9fd8p-2, -0x1.7ef83ap-1}},
      {{{"variance_type", "fixed_small_log"}, {"prediction_type", "v_prediction"}, {"clip_sample", false},
        {"beta_schedule", "scaled_linear"}},
       {6, 2, 498}, 0, {-0x1.97efccp-1, -0x1.29af765ec57eap+0, -0x1.eb7288p-2}},
      {{{"variance_type", "fixed_large"}, {"prediction_type", "sample"}, {"thresholding", true},
        {"dynamic_thresholding_ratio", 0.8}, {"sample_max_value", 2.0}},
       {5, 0, 800}, 0, {0x1.8be85p-1, 0x1.739447ae27118p-1, -0x1.8b1a08p-2}},
      {{{"prediction_type", "epsilon"}, {"clip_sample", false}, {"beta_schedule", "sigmoid"},
        {"timestep_spacing", "trailing"}},
       {4, 3, 249}, 0, {-0x1.b176bcp-2, -0x1.b8f22f6c27e8ep+0, -0x1.802e46p+0}},
      {{{"prediction_type", "v_prediction"}, {"clip_sample", false}, {"timestep_spacing", "linspace"}},
       {4, 3, 0}, 0, {0x1.67be4p-2, -0x1.2e3b8ae28f662p+0, -0x1.dbc25ep+0}},
  };
  // clang-format on
  expect_steps<DdpmScheduler>(cases, [](DdpmScheduler& s, const StepInputs& in, int64_t t, double /*eta*/,
                                        NoiseSource& noise) { return s.step(in.model_output, t, in.sample, noise); });
}

TEST(SchedulersTest, AddNoiseTakesATimestepPerBatchEntry) {
  const StepInputs in;
  const DdpmScheduler s = ddpm_of({{"beta_schedule", "scaled_linear"}});
  const torch::Tensor out = s.add_noise(in.sample, in.noise, torch::tensor({20, 700}));
  expect_step({{"beta_schedule", "scaled_linear"}}, {-0x1.7b3abp-2, -0x1.2b7fcbea927f4p+0, -0x1.dbf522p+0}, in, out);
}

// A bfloat16 sample is stepped and noised in bfloat16 (thresholding upcasts), close to the float32 results.
TEST(SchedulersTest, StepsKeepTheSampleDtype) {
  const StepInputs in;
  const torch::Tensor out16 = in.model_output.to(torch::kBFloat16), sample16 = in.sample.to(torch::kBFloat16);
  DdimScheduler ddim = ddim_of({{"thresholding", true}, {"prediction_type", "v_prediction"}});
  ddim.set_timesteps(10);
  RecordedNoise n1({in.noise}), n2({in.noise});
  const torch::Tensor low = ddim.step(out16, ddim.timesteps()[1], sample16, 1.0, n1);
  EXPECT_EQ(low.scalar_type(), torch::kBFloat16);
  EXPECT_LE(max_abs_diff(low, ddim.step(in.model_output, ddim.timesteps()[1], in.sample, 1.0, n2)), 0.05);
  DdpmScheduler ddpm = ddpm_of(nlohmann::json::object());
  RecordedNoise n3({in.noise});
  EXPECT_EQ(ddpm.step(out16, 500, sample16, n3).scalar_type(), torch::kBFloat16);
  EXPECT_EQ(ddpm.add_noise(sample16, in.noise.to(torch::kBFloat16), torch::tensor({20})).scalar_type(),
            torch::kBFloat16);
}

std::string error_of(const std::function<void()>& run) {
  try {
    run();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(SchedulersTest, ConfigErrorsNameTheFileAndField) {
  nlohmann::json unknown = x4_ddim_config();
  unknown["some_new_option"] = 3;
  EXPECT_NE(error_of([&] { ddim_of(unknown); }).find("test/scheduler_config.json: field \"some_new_option\""),
            std::string::npos);
  nlohmann::json prediction = x4_ddim_config();
  prediction["prediction_type"] = "flow";
  EXPECT_NE(error_of([&] { ddim_of(prediction); }).find("field \"prediction_type\" = \"flow\""), std::string::npos);
  nlohmann::json variance = x4_ddpm_config();
  variance["variance_type"] = "learned_range";
  EXPECT_NE(error_of([&] { ddpm_of(variance); }).find("field \"variance_type\""), std::string::npos);
  nlohmann::json spacing = x4_ddim_config();
  spacing["timestep_spacing"] = "karras";
  EXPECT_NE(error_of([&] { ddim_of(spacing); }).find("field \"timestep_spacing\""), std::string::npos);
  nlohmann::json schedule = x4_ddim_config();
  schedule["beta_schedule"] = "sigmoid";  // DDPMScheduler's only
  EXPECT_NE(error_of([&] { ddim_of(schedule); }).find("field \"beta_schedule\""), std::string::npos);
}

TEST(SchedulersTest, TooManyStepsIsAnError) {
  DdimScheduler ddim = ddim_of(x4_ddim_config());
  EXPECT_NE(error_of([&] { ddim.set_timesteps(1001); }).find("test/scheduler_config.json: 1001 inference steps"),
            std::string::npos);
  EXPECT_THROW(ddim.set_timesteps(0), Error);
  DdpmScheduler ddpm = ddpm_of(x4_ddpm_config());
  EXPECT_THROW(ddpm.set_timesteps(1001), Error);
  ddim.set_timesteps(1000);  // leading + steps_offset 1 gives timestep 1000, past the schedule, as in diffusers
  RecordedNoise none({});
  const torch::Tensor x = torch::zeros({1, 4, 2, 2});
  EXPECT_NE(error_of([&] { ddim.step(x, ddim.timesteps()[0], x, 0.0, none); }).find("timestep 1000"),
            std::string::npos);
}

}  // namespace schedulers_test
}  // namespace uprez
