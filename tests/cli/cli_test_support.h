// What the command-line tests share: running the uprez program with arguments (exit status and all its output)
// and a fixture with a temporary folder, a tiny x2 model and a small RGBA input image.
#pragma once

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

#include "image/image_io.h"
#include "io/safetensors_writer.h"
#include "support/fixtures.h"
#include "support/test_assets.h"

namespace uprez::test {

struct Result {
  int status;
  std::string output;  // stdout and stderr together
};

inline Result run_uprez(const std::string& arguments) {
  const std::string command = build_dir() + "/uprez " + arguments + " 2>&1";
  Result result{-1, ""};
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir();
    model_ = dir_ + "/tiny-x2.safetensors";
    write_safetensors(model_, tiny_compact_weights({2, 3, 8, 2}, 3), {});
    input_ = dir_ + "/in.png";
    write_image(synthetic_image(31, 20, 4, 8), input_);
  }
  std::string upscaler() const { return "\"upscaler;model=" + model_ + ";tile=16;overlap=4\""; }
  std::string dir_, model_, input_;
};

}  // namespace uprez::test
