// Training and evaluation photos: which files to read (folders searched recursively) and how they become
// RGB tensors (gray replicated, alpha dropped), kept as 8-bit planes for training.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

namespace uprez::train {

// The image files named by `inputs`: files as given, folders searched recursively for the extensions uprez
// writes (is_image_extension), sorted and without duplicates. Throws Error naming an input that does not exist.
std::vector<std::string> find_image_files(const std::vector<std::string>& inputs);

// The image at `path` as a (1, 3, H, W) float32 tensor in [0, 1]: gray is replicated to RGB, alpha dropped.
torch::Tensor read_rgb(const std::string& path);

// The image at `path` as a (3, H, W) uint8 tensor, first shrunk (Lanczos, antialiased) so that its longer side
// is at most `max_side` when max_side > 0. Throws Error naming `path` for an unreadable image and for one with
// transparent pixels (the colour under them is no ground truth).
torch::Tensor load_training_image(const std::string& path, int max_side);

}  // namespace uprez::train
