// Typed, documented URI arguments (an image processor's, later a scheduler's): the specs a name accepts, and
// one URI's values checked against them, converted by getters that report errors as
// `<name>: argument "<key>" ...`.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "uri/uri.h"

namespace uprez {

enum class ArgumentType { String, Path, Integer, Float, Boolean, IntegerOrAuto };

// The type as help texts show it: "string", "path", "int", "float", "bool", "int | auto".
const char* argument_type_name(ArgumentType type);

struct ArgumentSpec {
  std::string name;           // dash-case, as written in URIs
  ArgumentType type;
  std::string default_value;  // empty: required (or "model default" when optional is true)
  std::string help;
  bool optional = false;      // may be left out even without a default
};

// The arguments of one URI, checked against the specs of `owner` (the processor or scheduler the URI names):
// unknown, duplicate (snake_case spellings count as their dash-case names), missing or mistyped arguments
// throw Error.
class UriArguments {
 public:
  UriArguments(const std::string& owner, const std::vector<ArgumentSpec>& specs, const Uri& uri);

  bool is_set(const std::string& name) const;  // given in the URI or defaulted
  std::string text(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  double number(const std::string& name) const;
  bool flag(const std::string& name) const;
  bool is_auto(const std::string& name) const;  // an IntegerOrAuto argument set to "auto"
  bool accepts(const std::string& name) const;  // the owner has this argument

  // Throws Error "<owner>: argument "<name>" <message>".
  [[noreturn]] void fail(const std::string& name, const std::string& message) const;
  const std::string& owner() const { return owner_; }

 private:
  const ArgumentSpec& spec(const std::string& name) const;
  void check_type(const ArgumentSpec& spec) const;
  std::string owner_;
  std::vector<ArgumentSpec> specs_;
  std::vector<std::pair<std::string, std::string>> values_;
};

}  // namespace uprez
