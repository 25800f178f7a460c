#include "nn/load_weights.h"

#include <sstream>
#include <unordered_set>

#include "core/error.h"

namespace uprez {

std::string shape_string(torch::IntArrayRef shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

void load_weights(torch::nn::Module& module, const StateDict& state) {
  torch::NoGradGuard no_grad;
  std::unordered_set<std::string> expected;
  const auto copy_into = [&](const std::string& name, torch::Tensor& target) {
    expected.insert(name);
    const torch::Tensor& source = state.at(name);
    if (!source.sizes().equals(target.sizes()))
      throw Error("model weight \"" + name + "\" has shape " + shape_string(source.sizes()) + ", expected " +
                  shape_string(target.sizes()));
    target.copy_(source);
  };
  for (auto& parameter : module.named_parameters()) copy_into(parameter.key(), parameter.value());
  for (auto& buffer : module.named_buffers()) copy_into(buffer.key(), buffer.value());
  for (const std::string& key : state.keys())
    if (expected.count(key) == 0) throw Error("model has an unexpected weight \"" + key + "\"");
}

}  // namespace uprez
