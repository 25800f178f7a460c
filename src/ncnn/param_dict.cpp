#include "ncnn/param_dict.h"

#include "core/error.h"

namespace uprez::ncnn {

namespace param_dict {

// The numbers of `value` as `Number`, in order.
template <typename Number>
std::vector<Number> converted(const ParamDict::Value& value) {
  std::vector<Number> numbers;
  numbers.reserve(value.numbers.size());
  for (const double number : value.numbers) numbers.push_back(static_cast<Number>(number));
  return numbers;
}

}  // namespace param_dict

int ParamDict::get_int(int id, int fallback) const {
  const auto found = values_.find(id);
  if (found == values_.end()) return fallback;
  const Value& value = found->second;
  if (value.is_array) fail(id, "is an array, expected an integer");
  if (value.is_float) fail(id, "is a float, expected an integer");
  return static_cast<int>(value.numbers.at(0));
}

float ParamDict::get_float(int id, float fallback) const {
  const auto found = values_.find(id);
  if (found == values_.end()) return fallback;
  const Value& value = found->second;
  if (value.is_array) fail(id, "is an array, expected a number");
  return static_cast<float>(value.numbers.at(0));
}

std::vector<int> ParamDict::get_ints(int id) const {
  const auto found = values_.find(id);
  if (found == values_.end()) return {};
  if (found->second.is_float) fail(id, "holds floats, expected integers");
  return param_dict::converted<int>(found->second);
}

std::vector<float> ParamDict::get_floats(int id) const {
  const auto found = values_.find(id);
  if (found == values_.end()) return {};
  return param_dict::converted<float>(found->second);
}

void ParamDict::fail(int id, const std::string& message) const {
  const std::string prefix = context_.empty() ? "" : context_ + ": ";
  throw Error(prefix + "parameter " + std::to_string(id) + ": " + message);
}

}  // namespace uprez::ncnn
