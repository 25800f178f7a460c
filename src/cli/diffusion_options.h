// The main command, dgenerate's `dgenerate MODEL --model-type torch-upscaler-x4 ...` for the Stable Diffusion
// upscalers: its options as a struct, their parsing from a command line (dgenerate's long and short spellings) and
// every check that can be made before a model is loaded. The run is in diffusion_render.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace uprez {

// One --prompts value, "positive; negative" split at the first ';' and trimmed, as dgenerate splits it.
struct DiffusionPrompt {
  std::string positive;
  std::optional<std::string> negative;  // none without a ';'
};

// --output-size: WIDTHxHEIGHT, or WIDTH for both (dgenerate's rule); both divisible by 8.
struct OutputSize {
  int width = 0;
  int height = 0;
};

struct DiffusionOptions {
  std::string model;                     // a diffusers folder or a Hugging Face repo id "org/name"
  std::string model_type;                // "torch-upscaler-x4" (upscaler-x4 is read as it)
  std::string revision;                  // -rev; "" = main
  std::string variant;                   // -var, e.g. "fp16"
  std::vector<DiffusionPrompt> prompts;  // -p; default: one empty prompt
  std::vector<std::string> image_seeds;  // -is: images, animations, videos
  std::optional<OutputSize> output_size; // -s
  bool no_aspect = false;                // -na
  std::vector<int64_t> noise_levels;     // -uns; default 20
  std::vector<int64_t> inference_steps;  // -ifs; default 30
  std::vector<double> guidance_scales;   // -gs; default 5
  bool guidance_scales_given = false;    // names show given scales as Python prints floats ("5-0"), the default "5"
  std::vector<uint64_t> seeds;           // -se, or -gse / one random seed
  bool seeds_generated = false;          // the seeds are random (printed by the run)
  bool seeds_to_images = false;          // -sei: seed i % n for image seed i
  int64_t batch_size = 1;                // -bs: images per prompt
  std::string output_path = "output";    // -o
  std::optional<std::string> output_prefix;  // -op
  bool output_overwrite = false;         // -ox
  std::string device;                    // -d; default: cuda when available, else cpu
  std::string dtype = "auto";            // -t: auto, float32, float16, bfloat16
  bool vae_tiling = false;               // -vt
  bool vae_slicing = false;              // -vs
  std::vector<std::string> post_processors;  // -pp: processor URIs, chained
  std::string image_format = "png";      // -if: stills and frame images
  std::string animation_format;          // -af: "" = the input's own kind; "frames" = frame images only
  bool no_frames = false;                // -nf: no frame images for animations
  int64_t frame_start = 0;               // -fs
  std::optional<int64_t> frame_end;      // -fe, inclusive
};

// The model types uprez runs.
extern const char* const kUpscalerModelTypesText;

// Parses the command line of the main command (MODEL first or after options, dgenerate's short aliases too) and
// checks what needs neither the model nor the files: the model type first, then options this model type does not
// take, no --image-seeds, the values, the device. Generates the random seeds. Throws HelpRequested for --help,
// Error (one line naming the option) for anything wrong.
DiffusionOptions parse_diffusion_command(const std::vector<std::string>& args);

}  // namespace uprez
