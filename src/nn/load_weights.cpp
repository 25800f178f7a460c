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

namespace load_weights_impl {

void fill(torch::nn::Module& module, const StateDict& state, bool adopt) {
  torch::NoGradGuard no_grad;
  std::unordered_set<std::string> expected;
  const auto copy_into = [&](const std::string& name, torch::Tensor& target) {
    expected.insert(name);
    const torch::Tensor& source = state.at(name);
    if (!source.sizes().equals(target.sizes()))
      throw Error("model weight \"" + name + "\" has shape " + shape_string(source.sizes()) + ", expected " +
                  shape_string(target.sizes()));
    const bool same_kind = source.scalar_type() == target.scalar_type() && source.device() == target.device();
    if (adopt && same_kind && source.is_contiguous()) {
      target.set_data(source);
    } else {
      target.copy_(source);
    }
  };
  for (auto& parameter : module.named_parameters()) copy_into(parameter.key(), parameter.value());
  for (auto& buffer : module.named_buffers()) copy_into(buffer.key(), buffer.value());
  for (const std::string& key : state.keys())
    if (expected.count(key) == 0) throw Error("model has an unexpected weight \"" + key + "\"");
}

}  // namespace load_weights_impl

void load_weights(torch::nn::Module& module, const StateDict& state) { load_weights_impl::fill(module, state, false); }

void adopt_weights(torch::nn::Module& module, StateDict state) { load_weights_impl::fill(module, state, true); }

}  // namespace uprez
