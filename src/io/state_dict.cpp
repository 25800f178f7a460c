#include "io/state_dict.h"

#include <algorithm>

#include "core/error.h"

namespace uprez {

void StateDict::set(const std::string& name, torch::Tensor tensor) {
  if (tensors_.count(name) == 0) order_.push_back(name);
  tensors_[name] = std::move(tensor);
}

void StateDict::erase(const std::string& name) {
  if (tensors_.erase(name) == 0) return;
  order_.erase(std::find(order_.begin(), order_.end(), name));
}

const torch::Tensor& StateDict::at(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw Error("model is missing the weight \"" + name + "\"");
  return it->second;
}

std::vector<int64_t> StateDict::shape(const std::string& name) const { return at(name).sizes().vec(); }

int64_t StateDict::dim(const std::string& name, int index) const {
  const torch::Tensor& t = at(name);
  const int64_t d = index < 0 ? t.dim() + index : index;
  if (d < 0 || d >= t.dim())
    throw Error("model weight \"" + name + "\" has " + std::to_string(t.dim()) + " dimensions, expected more");
  return t.size(d);
}

bool StateDict::has_all(std::initializer_list<const char*> names) const {
  return std::all_of(names.begin(), names.end(), [&](const char* n) { return contains(n); });
}

int64_t StateDict::parameter_count() const {
  int64_t total = 0;
  for (const auto& kv : tensors_) total += kv.second.numel();
  return total;
}

}  // namespace uprez
