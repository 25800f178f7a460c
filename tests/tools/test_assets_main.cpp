// uprez-test-assets: writes a deterministic tiny Compact model and a synthetic sample image (used by
// scripts/setup for its sample upscale, and handy for trying uprez without downloading a model).
#include <iostream>

#include <CLI/CLI.hpp>

#include "image/image_io.h"
#include "io/safetensors_writer.h"
#include "support/test_assets.h"

int main(int argc, char** argv) {
  CLI::App app{"Write a tiny Compact model and a synthetic sample image."};
  std::string model_path, image_path;
  uprez::test::CompactShape shape;
  int width = 96, height = 64;
  app.add_option("--model", model_path, "Write the model (.safetensors) here.");
  app.add_option("--scale", shape.scale, "Model scale (default 2).")->check(CLI::Range(1, 8));
  app.add_option("--image", image_path, "Write the sample image here (format from the extension).");
  app.add_option("--width", width, "Sample image width.")->check(CLI::Range(1, 8192));
  app.add_option("--height", height, "Sample image height.")->check(CLI::Range(1, 8192));
  CLI11_PARSE(app, argc, argv);
  try {
    if (!model_path.empty())
      uprez::write_safetensors(model_path, uprez::test::tiny_compact_weights(shape, 1234), {});
    if (!image_path.empty()) uprez::write_image(uprez::test::synthetic_image(width, height, 3, 8), image_path);
  } catch (const std::exception& e) {
    std::cerr << "uprez-test-assets: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
