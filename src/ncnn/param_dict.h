// The parameters of one NCNN layer: the `id=value` pairs of its .param line. Values are ints, floats, or arrays of
// either (ids written as -23300 - id in the old array syntax); a value is a float when its text has '.', 'e' or 'E'.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace uprez::ncnn {

class ParamDict {
 public:
  struct Value {
    bool is_float = false;
    bool is_array = false;
    std::vector<double> numbers;  // one element for scalars
  };

  // `context` (e.g. "model.param:12: Convolution conv1") prefixes every error message.
  explicit ParamDict(std::string context = {}) : context_(std::move(context)) {}

  void set(int id, Value value) { values_[id] = std::move(value); }
  bool has(int id) const { return values_.count(id) != 0; }

  // The scalar of `id`, or `fallback` when absent. An int read as float converts; a float read as int is an
  // error (ncnn would reinterpret its bits), as is an array read as a scalar.
  int get_int(int id, int fallback) const;
  float get_float(int id, float fallback) const;
  // The array of `id` (empty when absent); a scalar reads as a one-element array.
  std::vector<int> get_ints(int id) const;
  std::vector<float> get_floats(int id) const;

  const std::string& context() const { return context_; }
  // Throws Error("<context>: parameter <id>: <message>").
  [[noreturn]] void fail(int id, const std::string& message) const;

 private:
  std::string context_;
  std::map<int, Value> values_;
};

}  // namespace uprez::ncnn
