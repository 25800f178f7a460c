// Helpers for the tests of the spatial NCNN layers (convolutions, inner product, pooling, resizing, pixel shuffle,
// cropping, padding): layers made from the text of a .param line and a .bin of weights, on top of
// elementwise_test_support.h.
#pragma once

#include <cstring>
#include <sstream>

#include "ncnn/elementwise_test_support.h"
#include "ncnn/param_file.h"

namespace uprez::ncnn::test {

// One buffer of a test .bin: flagged (ModelBin type 0, as weights are stored: the fp32 tag 0, then the values) or
// raw fp32 values (type 1: biases, per-channel values).
struct BinBuffer {
  torch::Tensor values;
  bool flagged = false;
};
inline BinBuffer flagged_buffer(const torch::Tensor& values) { return {values, true}; }
inline BinBuffer raw_buffer(const torch::Tensor& values) { return {values, false}; }

// The bytes of a .bin holding `buffers` in order.
inline std::vector<uint8_t> bin_bytes(const std::vector<BinBuffer>& buffers) {
  std::vector<uint8_t> bytes;
  for (const BinBuffer& buffer : buffers) {
    if (buffer.flagged) bytes.resize(bytes.size() + 4, 0);
    const torch::Tensor values = buffer.values.to(torch::kFloat32).contiguous();
    const size_t offset = bytes.size();
    bytes.resize(offset + values.numel() * sizeof(float));
    std::memcpy(bytes.data() + offset, values.data_ptr<float>(), values.numel() * sizeof(float));
  }
  return bytes;
}

// A layer of ncnn type `type` after load_param with the `id=value` pairs of `params` (as on a .param line) and
// load_model on a .bin holding exactly `buffers`.
inline std::unique_ptr<Layer> load_layer(const std::string& type, const std::string& params,
                                         const std::vector<BinBuffer>& buffers = {}) {
  std::unique_ptr<Layer> layer = create_layer(type);
  if (!layer) throw std::runtime_error("no layer of type " + type);
  layer->context = kContext;
  std::istringstream words(params);
  std::vector<std::string> tokens;
  for (std::string token; words >> token;) tokens.push_back(token);
  layer->load_param(parse_param_pairs(tokens, kContext));

  const std::vector<uint8_t> bytes = bin_bytes(buffers);
  ModelBin bin(ByteView{bytes.data(), bytes.size()}, "test.bin");
  layer->load_model(bin);
  EXPECT_EQ(bin.remaining(), 0u) << type << " left weights unread";
  return layer;
}

// The one output of `layer` for one input, run as models run (without autograd).
inline torch::Tensor run_one(const Layer& layer, const torch::Tensor& input) {
  torch::NoGradGuard no_grad;
  return run(layer, {input});
}

}  // namespace uprez::ncnn::test
