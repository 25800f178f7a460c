// Helpers for the tests of the element-wise and blob-rearranging NCNN layers: layers made from parameters (and
// raw fp32 weights), expected errors, and tensor comparisons.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/error.h"
#include "ncnn/layer.h"
#include "ncnn/model_bin.h"
#include "ncnn/param_dict.h"

namespace uprez::ncnn::test {

// The context every test layer carries (as the runner would set it).
inline const std::string kContext = "test.param:3: TestLayer layer1";

inline ParamDict::Value int_param(int value) { return {false, false, {static_cast<double>(value)}}; }
inline ParamDict::Value float_param(double value) { return {true, false, {value}}; }
inline ParamDict::Value floats_param(const std::vector<double>& values) { return {true, true, values}; }

using Params = std::map<int, ParamDict::Value>;

inline ParamDict param_dict(const Params& params) {
  ParamDict dict(kContext);
  for (const auto& [id, value] : params) dict.set(id, value);
  return dict;
}

// A layer of ncnn type `type` after load_param(params) and, when `weights` is given, load_model on a .bin that
// holds exactly `weights` (raw fp32, or a flagged buffer when `flagged`: the fp32 tag 0 then the values).
inline std::unique_ptr<Layer> make_layer(const std::string& type, const Params& params = {},
                                         const std::vector<float>& weights = {}, bool flagged = false) {
  std::unique_ptr<Layer> layer = create_layer(type);
  if (!layer) throw std::runtime_error("no layer of type " + type);
  layer->context = kContext;
  layer->load_param(param_dict(params));
  std::vector<uint8_t> bytes(flagged ? 4 : 0, 0);
  const size_t offset = bytes.size();
  bytes.resize(offset + weights.size() * sizeof(float));
  if (!weights.empty()) std::memcpy(bytes.data() + offset, weights.data(), weights.size() * sizeof(float));
  ModelBin bin(ByteView{bytes.data(), bytes.size()}, "test.bin");
  layer->load_model(bin);
  EXPECT_EQ(bin.remaining(), 0u) << type << " left weights unread";
  return layer;
}

// The one output of `layer` for `inputs`.
inline torch::Tensor run(const Layer& layer, const std::vector<torch::Tensor>& inputs) {
  const std::vector<torch::Tensor> outputs = layer.forward(inputs);
  EXPECT_EQ(outputs.size(), 1u);
  return outputs.at(0);
}

// A float tensor of `values` in `shape`.
inline torch::Tensor tensor_of(const std::vector<float>& values, std::vector<int64_t> shape) {
  return torch::tensor(values, torch::kFloat32).reshape(shape);
}

// Reproducible values in (-2, 2).
inline torch::Tensor random_blob(std::vector<int64_t> shape, uint64_t seed = 1) {
  torch::manual_seed(seed);
  return torch::rand(shape) * 4 - 2;
}

inline void expect_close(const torch::Tensor& actual, const torch::Tensor& expected, double tolerance = 1e-5) {
  ASSERT_EQ(actual.sizes(), expected.sizes());
  EXPECT_EQ(actual.scalar_type(), expected.scalar_type());
  EXPECT_TRUE(torch::allclose(actual, expected, tolerance, tolerance, /*equal_nan=*/true)) << "actual:\n"
                                                                                           << actual << "\nexpected:\n"
                                                                                           << expected;
}

// Runs `action`, which must throw one-line uprez::Error naming the test layer and containing `fragment`.
inline void expect_layer_error(const std::function<void()>& action, const std::string& fragment) {
  try {
    action();
    ADD_FAILURE() << "expected an uprez::Error containing \"" << fragment << "\"";
  } catch (const uprez::Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.rfind(kContext + ": ", 0), 0u) << "message does not start with the context: " << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << "message lacks \"" << fragment << "\": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "message is not one line: " << message;
  }
}

}  // namespace uprez::ncnn::test
