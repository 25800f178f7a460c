// The main command's run, dgenerate's render loop for the x4 upscaler: every combination of prompts, seeds,
// guidance scales, inference steps and noise levels (in dgenerate's loop order) is one render of each image seed,
// named as dgenerate names it. Stills become images; animations and videos are upscaled frame by frame (the same
// seed for every frame) into an animation of their own kind and frame images. The post-processors run on every
// result before it is written.
#pragma once

#include <string>
#include <vector>

#include "cli/diffusion_options.h"

namespace uprez {

// Checks the image seeds, the post-processors and the model, loads it and checks the noise levels against its
// max_noise_level, then renders, printing a line per render, progress bars on a terminal, notes (float16 on the
// CPU, automatic VAE tiling) and "uprez: wrote ..." lines. Throws Error (one line) at the first failure; nothing is
// written before every check has passed.
void run_diffusion(const DiffusionOptions& options);

// The main command: parse and run; the exit status (0, or 1 after "uprez: error: <message>" on stderr).
int diffusion_main(const std::vector<std::string>& args);

}  // namespace uprez
