// A model's weights: named tensors in the order the file stores them, as a PyTorch state dict holds them.
// Readers produce one (model_file.h); architectures detect themselves from it and load from it by name.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include <torch/types.h>

namespace uprez {

class StateDict {
 public:
  // Adds or replaces `name`; a new name goes to the end of the order.
  void set(const std::string& name, torch::Tensor tensor);
  void erase(const std::string& name);
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  // The tensor named `name`; throws Error naming the key when it is absent.
  const torch::Tensor& at(const std::string& name) const;
  const std::vector<std::string>& keys() const { return order_; }
  size_t size() const { return order_.size(); }
  bool empty() const { return order_.empty(); }

  // Shape of `name` (throws Error when absent), and a shorthand for one of its dimensions (negative counts
  // from the end).
  std::vector<int64_t> shape(const std::string& name) const;
  int64_t dim(const std::string& name, int index) const;

  // True when every key in `names` is present.
  bool has_all(std::initializer_list<const char*> names) const;

  // Number of elements over all tensors (the parameter count model-info prints).
  int64_t parameter_count() const;

 private:
  std::vector<std::string> order_;
  std::unordered_map<std::string, torch::Tensor> tensors_;
};

}  // namespace uprez
