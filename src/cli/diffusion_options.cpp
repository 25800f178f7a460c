// The main command's options: CLI11 with dgenerate's spellings, then the checks in dgenerate's spirit (each one
// line naming the option): the model type first, then options this model type does not take, then the values.
#include "cli/diffusion_options.h"
#include "cli/parse_command_line.h"
#include "cli/short_aliases.h"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <climits>
#include <cmath>
#include <map>
#include <random>

#include "cli/help_requested.h"
#include "core/device.h"
#include "core/error.h"
#include "image/image_io.h"
#include "media/media_file.h"

namespace uprez {

const char* const kUpscalerModelTypesText = "torch-upscaler-x4 (or upscaler-x4)";

namespace diffusion_options {

// Every --model-type dgenerate knows: 4.x's names and 5.x's (without "torch-").
const std::vector<std::string>& dgenerate_model_types() {
  static const std::vector<std::string> types = {
      "torch", "torch-pix2pix", "torch-sdxl", "torch-sdxl-pix2pix", "torch-kolors", "torch-upscaler-x2",
      "torch-upscaler-x4", "torch-if", "torch-ifs", "torch-ifs-img2img", "torch-s-cascade", "torch-sd3",
      "torch-flux", "torch-flux-fill", "sd", "pix2pix", "sdxl", "sdxl-pix2pix", "kolors", "upscaler-x2",
      "upscaler-x4", "if", "ifs", "ifs-img2img", "s-cascade", "sd3", "sd3-pix2pix", "flux", "flux-fill",
      "flux-kontext"};
  return types;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

// "torch-upscaler-x4" for the x4 upscaler's two names; Error for anything else, listing what uprez runs.
std::string checked_model_type(const std::string& given) {
  const std::string type = lower(given);
  if (type == "torch-upscaler-x4" || type == "upscaler-x4") return "torch-upscaler-x4";
  const std::string runs = std::string("uprez runs the Stable Diffusion upscalers: ") + kUpscalerModelTypesText;
  if (type.empty())
    throw Error("--model-type: missing; dgenerate's default, torch (text-to-image), is not something uprez does; " +
                runs);
  if (type == "torch-upscaler-x2" || type == "upscaler-x2")
    throw Error("--model-type " + given + ": the x2 upscaler is not implemented yet; " + runs);
  const auto& known = dgenerate_model_types();
  if (std::find(known.begin(), known.end(), type) != known.end())
    throw Error("--model-type " + given + ": not an upscaler (text-to-image and image editing are not part of "
                "uprez); " + runs);
  throw Error("--model-type " + given + ": unknown model type; " + runs);
}

// dgenerate's options that the x4 upscaler does not take (dgenerate refuses them too), and the ones uprez does not
// implement: "-short/--long" as dgenerate names them in errors, or a prefix ending in '-' for a family.
struct RefusedOption {
  std::vector<std::string> names;
  std::string reason;
};

const std::vector<RefusedOption>& refused_options() {
  static const std::string dgenerate = "not taken by --model-type torch-upscaler-x4 (dgenerate refuses it too)";
  static const std::vector<RefusedOption> table = {
      {{"-iss/--image-seed-strengths"}, dgenerate},
      {{"-cs/--clip-skips"}, "only for --model-type torch, torch-sdxl and torch-sd3 (dgenerate)"},
      {{"-igs/--image-guidance-scales"}, "only for pix2pix models (dgenerate)"},
      {{"-tf/--transformer"}, "only for SD3 and Flux models (dgenerate)"},
      {{"-te2/--text-encoders2", "-un2/--unet2", "-hnf", "-ri", "-rg", "-rgr", "-rpag", "-rpags", "-rpagas", "-rqo",
        "-rco", "-dqo", "-dco", "--sdxl-", "--sd3-", "--flux-", "--s-cascade-"},
       dgenerate},
      {{"-gr/--guidance-rescales", "-pag/--pag", "-pags/--pag-scales", "-pagas/--pag-adaptive-scales"},
       "not taken by the x4 upscaler pipeline"},
      {{"-sch/--scheduler", "--schedulers", "-lra/--loras", "-lrfs/--lora-fuse-scale", "-ti/--textual-inversions",
        "-vae/--vae", "-un/--unet", "-te/--text-encoders", "-cn/--control-nets", "-t2i/--t2i-adapters",
        "-ie/--image-encoder", "-ipa/--ip-adapters", "-pw/--prompt-weighter", "-mqo/--model-sequential-offload",
        "-mco/--model-cpu-offload", "-sbf/--subfolder", "-atk/--auth-token", "-bgs/--batch-grid-size",
        "-oc/--output-configs", "-om/--output-metadata", "-sip/--seed-image-processors",
        "-mip/--mask-image-processors", "-cip/--control-image-processors", "-sc/--safety-checker",
        "-ofm/--offline-mode", "--plugin-modules", "--file", "--shell", "--console"},
       "not supported by uprez (yet)"},
  };
  return table;
}

// Whether the option `name` is one of `spelling`'s ("-short/--long", or a family prefix ending in '-').
bool spelled(const std::string& name, const std::string& spelling) {
  if (spelling.back() == '-') return name.rfind(spelling, 0) == 0;
  const size_t slash = spelling.find('/');
  return name == spelling.substr(0, slash) || (slash != std::string::npos && name == spelling.substr(slash + 1));
}

// The first refused option in `args` with its reason ("-lra/--loras: not supported ..."), or "" when none.
std::string first_refused_option(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    if (arg.size() < 2 || arg[0] != '-') continue;
    const std::string name = arg.substr(0, arg.find('='));
    for (const RefusedOption& refused : refused_options())
      for (const std::string& spelling : refused.names)
        if (spelled(name, spelling)) return (spelling.back() == '-' ? name : spelling) + ": " + refused.reason;
  }
  return "";
}

// dgenerate's multi-letter short options spelled as the long ones CLI11 understands.
std::vector<std::string> expand_dgenerate_aliases(const std::vector<std::string>& args) {
  static const std::map<std::string, std::string> aliases = {
      {"-mt", "--model-type"},     {"-rev", "--revision"},     {"-var", "--variant"},
      {"-bs", "--batch-size"},     {"-vt", "--vae-tiling"},    {"-vs", "--vae-slicing"},
      {"-na", "--no-aspect"},      {"-op", "--output-prefix"}, {"-ox", "--output-overwrite"},
      {"-se", "--seeds"},          {"-sei", "--seeds-to-images"}, {"-gse", "--gen-seeds"},
      {"-af", "--animation-format"}, {"-if", "--image-format"}, {"-nf", "--no-frames"},
      {"-fs", "--frame-start"},    {"-fe", "--frame-end"},     {"-is", "--image-seeds"},
      {"-pp", "--post-processors"}, {"-uns", "--upscaler-noise-levels"}, {"-gs", "--guidance-scales"},
      {"-ifs", "--inference-steps"},
  };
  return expand_aliases(args, aliases);
}

constexpr int64_t kNotGiven = INT64_MIN;

// The options read as text first and converted and checked after the model type.
struct RawOptions {
  std::string model_type;
  std::vector<std::string> prompts, noise_levels, inference_steps, guidance_scales, seeds;
  std::string output_size;
  int64_t gen_seeds = kNotGiven;
  int64_t frame_end = -1;
  bool verbose = false;
};

// The model, what it runs on and how it is read.
void add_model_options(CLI::App& app, DiffusionOptions& o, RawOptions& raw) {
  app.add_option("model", o.model, "The model: a diffusers folder, or a Hugging Face repo id (org/name) found in "
                                   "the Hugging Face cache ($HF_HUB_CACHE, $HF_HOME/hub, ~/.cache/huggingface/hub).")
      ->required();
  app.add_option("--model-type", raw.model_type, "(-mt) torch-upscaler-x4 or upscaler-x4: the Stable Diffusion x4 "
                                                 "upscaler (torch-upscaler-x2 comes later).");
  app.add_option("--revision", o.revision, "(-rev) The cache ref or commit of a repo id (default: main).");
  app.add_option("--variant", o.variant, "(-var) Weights variant, e.g. fp16: *.fp16.safetensors.");
  app.add_option("-d,--device", o.device, "cpu, cuda or cuda:N (default: cuda when available, else cpu).");
  app.add_option("-t,--dtype", o.dtype, "auto (float32 on the CPU, float16 on CUDA), float32, float16 (computed "
                                        "in float32 on the CPU) or bfloat16.");
  app.add_flag("--vae-tiling", o.vae_tiling, "(-vt) Decode in overlapping tiles (switched on by itself when the "
                                             "decode would not fit in memory).");
  app.add_flag("--vae-slicing", o.vae_slicing, "(-vs) Decode one image of a batch at a time.");
  app.add_flag("-v,--verbose", raw.verbose, "Accepted for dgenerate's command lines.");
}

// What is rendered: every combination of these lists is one render.
void add_render_options(CLI::App& app, DiffusionOptions& o, RawOptions& raw) {
  app.add_option("--image-seeds", o.image_seeds, "(-is) Images, animations (GIF, WebP, APNG) or videos to upscale.")
      ->expected(1, -1);
  app.add_option("-p,--prompts", raw.prompts, "Prompts, \"positive; negative\" (default: one empty prompt).")
      ->expected(1, -1);
  app.add_option("--upscaler-noise-levels", raw.noise_levels,
                 "(-uns) Noise added to the input, 0 to the model's max_noise_level (default 20).")
      ->expected(1, -1);
  app.add_option("--inference-steps", raw.inference_steps, "(-ifs) Denoising steps (default 30).")->expected(1, -1);
  app.add_option("--guidance-scales", raw.guidance_scales, "(-gs) Classifier-free guidance, used above 1 "
                                                           "(default 5).")
      ->expected(1, -1);
  CLI::Option* seeds = app.add_option("--seeds", raw.seeds, "(-se) Seeds: the same seed gives diffusers' image "
                                                            "on the CPU (default: one random seed).")
                           ->expected(1, -1);
  app.add_option("--gen-seeds", raw.gen_seeds, "(-gse) This many random seeds (printed).")->excludes(seeds);
  app.add_flag("--seeds-to-images", o.seeds_to_images, "(-sei) Seed i % (number of seeds) for image seed i "
                                                       "instead of every seed for every image.");
  app.add_option("--batch-size", o.batch_size, "(-bs) Images per prompt, each named _image_<n> (default 1).");
  app.add_option("-s,--output-size", raw.output_size, "Resize the image seeds to WIDTHxHEIGHT or WIDTH (keeping "
                                                      "the aspect ratio from the width), divisible by 8; the "
                                                      "result is 4 times that.");
  app.add_flag("--no-aspect", o.no_aspect, "(-na) --output-size ignores the aspect ratio.");
  app.add_option("--post-processors", o.post_processors, "(-pp) Image processor URIs applied to each result "
                                                         "before it is written; see --image-processor-help.")
      ->expected(1, -1);
}

// Where and how results are written.
void add_output_options(CLI::App& app, DiffusionOptions& o, RawOptions& raw) {
  app.add_option("-o,--output-path", o.output_path, "Output folder, created (default: output).");
  app.add_option("--output-prefix", o.output_prefix, "(-op) Prefix of every file name, followed by '_'.");
  app.add_flag("--output-overwrite", o.output_overwrite, "(-ox) Replace existing files instead of adding "
                                                         "_duplicate_<k>.");
  app.add_option("--image-format", o.image_format, "(-if) Format of stills and frame images (default png).");
  app.add_option("--animation-format", o.animation_format,
                 "(-af) Format of animated results: webp, gif, apng, mp4, mkv, webm, mov, avi, or frames (frame "
                 "images only). Default: the input's own kind (mp4 for videos uprez cannot write back).");
  app.add_flag("--no-frames", o.no_frames, "(-nf) Write no frame images for animations, only the animation.");
  app.add_option("--frame-start", o.frame_start, "(-fs) First frame of animations and videos, 0-based.")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app.add_option("--frame-end", raw.frame_end, "(-fe) Last frame, 0-based, inclusive.")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
}

// `text` as a whole integer of at least `min`; Error naming `option` otherwise.
int64_t to_integer(const std::string& text, const std::string& option, int64_t min) {
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size()) throw Error(option + ": \"" + text + "\" is not an integer");
  if (value < min)
    throw Error(option + ": must be greater than or equal to " + std::to_string(min) + ", got " + text);
  return value;
}

std::vector<int64_t> to_integers(const std::vector<std::string>& texts, const std::string& option, int64_t min,
                                 int64_t default_value) {
  std::vector<int64_t> values;
  for (const std::string& text : texts) values.push_back(to_integer(text, option, min));
  if (values.empty()) values.push_back(default_value);
  return values;
}

std::vector<double> to_guidance_scales(const std::vector<std::string>& texts) {
  std::vector<double> values;
  for (const std::string& text : texts) {
    size_t used = 0;
    double value = NAN;
    try {
      value = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size() || !std::isfinite(value))
      throw Error("--guidance-scales: \"" + text + "\" is not a number");
    if (value < 0) throw Error("--guidance-scales: must be greater than or equal to 0, got " + text);
    values.push_back(value);
  }
  if (values.empty()) values.push_back(5.0);
  return values;
}

// --seeds as given, else --gen-seeds (or one) random seeds from dgenerate's range [0, 99999999999999].
std::vector<uint64_t> to_seeds(const RawOptions& raw, bool& generated) {
  std::vector<uint64_t> seeds;
  for (const std::string& text : raw.seeds) {
    size_t used = 0;
    try {
      if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) seeds.push_back(std::stoull(text, &used));
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size())
      throw Error("--seeds: \"" + text + "\" is not an integer from 0 to 18446744073709551615");
  }
  generated = seeds.empty();
  if (raw.gen_seeds != kNotGiven && raw.gen_seeds < 1) throw Error("--gen-seeds: must be greater than or equal to 1");
  std::mt19937_64 random{std::random_device{}()};
  std::uniform_int_distribution<uint64_t> range(0, 99999999999999ULL);
  const int64_t count = raw.gen_seeds == kNotGiven ? 1 : raw.gen_seeds;
  for (int64_t i = 0; generated && i < count; ++i) seeds.push_back(range(random));
  return seeds;
}

OutputSize to_output_size(const std::string& text) {
  const size_t x = text.find_first_of("xX");
  const std::string first = text.substr(0, x);
  OutputSize size;
  size.width = static_cast<int>(to_integer(first, "--output-size", 1));
  size.height = x == std::string::npos ? size.width
                                        : static_cast<int>(to_integer(text.substr(x + 1), "--output-size", 1));
  if (size.width > 65535 || size.height > 65535) throw Error("--output-size " + text + ": larger than 65535");
  if (size.width % 8 != 0) throw Error("--output-size " + text + ": the width must be divisible by 8");
  if (size.height % 8 != 0) throw Error("--output-size " + text + ": the height must be divisible by 8");
  return size;
}

DiffusionPrompt to_prompt(const std::string& text) {
  const auto trim = [](const std::string& s) {
    const size_t begin = s.find_first_not_of(" \t\r\n");
    return begin == std::string::npos ? std::string() : s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
  };
  const size_t semicolon = text.find(';');
  if (semicolon == std::string::npos) return {trim(text), std::nullopt};
  return {trim(text.substr(0, semicolon)), trim(text.substr(semicolon + 1))};
}

// What CLI11 could not place: the first unknown option, or an argument after MODEL.
void check_extras(const std::vector<std::string>& extras) {
  if (extras.empty()) return;
  const auto option =
      std::find_if(extras.begin(), extras.end(), [](const std::string& a) { return a.size() > 1 && a[0] == '-'; });
  if (option != extras.end()) throw Error("unknown option \"" + *option + "\" (see uprez MODEL --help)");
  throw Error("unexpected argument \"" + extras.front() + "\" (MODEL is given once; see uprez MODEL --help)");
}

// The output formats, frames and names.
void check_output_options(DiffusionOptions& o) {
  o.image_format = lower(o.image_format);
  o.animation_format = lower(o.animation_format);
  if (!is_image_extension("." + o.image_format))
    throw Error("--image-format: expected png, jpg, jpeg, webp, bmp, tif or tiff, got \"" + o.image_format + "\"");
  const std::string& animation = o.animation_format;
  if (!animation.empty() && animation != "frames" && !is_animation_extension("." + animation))
    throw Error("--animation-format: expected " + std::string(kAnimationExtensionsText) +
                " without the dot, or frames; got \"" + o.animation_format + "\"");
  if (o.no_frames && o.animation_format == "frames")
    throw Error("--no-frames cannot be used with --animation-format frames");
  if (o.frame_end && *o.frame_end < o.frame_start)
    throw Error("--frame-start " + std::to_string(o.frame_start) + " is after --frame-end " +
                std::to_string(*o.frame_end));
  if (o.output_prefix && o.output_prefix->find_first_of("/\\") != std::string::npos)
    throw Error("--output-prefix: may not contain slash characters");
  if (o.batch_size < 1) throw Error("--batch-size: must be greater than or equal to 1");
}

// --dtype and --device.
void check_runtime_options(DiffusionOptions& o) {
  o.dtype = lower(o.dtype);
  if (o.dtype != "auto" && o.dtype != "float32" && o.dtype != "float16" && o.dtype != "bfloat16")
    throw Error("--dtype: expected auto, bfloat16, float16 or float32, got \"" + o.dtype + "\"");
  if (o.device.empty()) o.device = default_device_name();
  parse_device(o.device, "--device");
}

}  // namespace diffusion_options

DiffusionOptions parse_diffusion_command(const std::vector<std::string>& args) {
  CLI::App app{"Upscale images, animations and videos with a Stable Diffusion upscaler (dgenerate's main command).",
               "uprez"};
  DiffusionOptions o;
  diffusion_options::RawOptions raw;
  diffusion_options::add_model_options(app, o, raw);
  diffusion_options::add_render_options(app, o, raw);
  diffusion_options::add_output_options(app, o, raw);
  app.allow_extras();
  const std::vector<std::string> expanded = diffusion_options::expand_dgenerate_aliases(args);
  const std::string refused = diffusion_options::first_refused_option(expanded);
  parse_command_line(app, expanded);
  o.model_type = diffusion_options::checked_model_type(raw.model_type);
  if (!refused.empty()) throw Error(refused);
  diffusion_options::check_extras(app.remaining());
  if (o.image_seeds.empty())
    throw Error("you cannot specify an upscaler model (--model-type " + o.model_type + ") without --image-seeds");
  for (const std::string& prompt : raw.prompts) o.prompts.push_back(diffusion_options::to_prompt(prompt));
  if (o.prompts.empty()) o.prompts.push_back({});
  o.noise_levels = diffusion_options::to_integers(raw.noise_levels, "--upscaler-noise-levels", 0, 20);
  o.inference_steps = diffusion_options::to_integers(raw.inference_steps, "--inference-steps", 1, 30);
  o.guidance_scales = diffusion_options::to_guidance_scales(raw.guidance_scales);
  o.guidance_scales_given = !raw.guidance_scales.empty();
  o.seeds = diffusion_options::to_seeds(raw, o.seeds_generated);
  if (!raw.output_size.empty()) o.output_size = diffusion_options::to_output_size(raw.output_size);
  if (raw.frame_end >= 0) o.frame_end = raw.frame_end;
  diffusion_options::check_output_options(o);
  diffusion_options::check_runtime_options(o);
  return o;
}

}  // namespace uprez
