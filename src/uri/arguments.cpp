// URI arguments against their specs: names (dash-case or snake_case), required ones, and the text of each
// type (integers, numbers, true/false, "auto").
#include "uri/arguments.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>

#include "core/error.h"

namespace uprez {

namespace arguments {

bool parse_integer(const std::string& text, int64_t& value) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  const long long parsed = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  value = parsed;
  return true;
}

bool parse_float(const std::string& text, double& value) {
  if (text.empty()) return false;
  errno = 0;
  char* end = nullptr;
  value = std::strtod(text.c_str(), &end);
  return errno == 0 && *end == '\0';
}

bool parse_boolean(const std::string& text, bool& value) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  if (lower == "true") return value = true, true;
  if (lower == "false") return value = false, true;
  return false;
}

std::string join_names(const std::vector<ArgumentSpec>& specs) {
  std::vector<std::string> names;
  for (const auto& s : specs) names.push_back(s.name);
  std::sort(names.begin(), names.end());
  std::string joined;
  for (const auto& n : names) joined += (joined.empty() ? "" : ", ") + n;
  return joined;
}

}  // namespace arguments

const char* argument_type_name(ArgumentType type) {
  switch (type) {
    case ArgumentType::String: return "string";
    case ArgumentType::Path: return "path";
    case ArgumentType::Integer: return "int";
    case ArgumentType::Float: return "float";
    case ArgumentType::Boolean: return "bool";
    case ArgumentType::IntegerOrAuto: return "int | auto";
  }
  return "";
}

UriArguments::UriArguments(const std::string& owner, const std::vector<ArgumentSpec>& specs, const Uri& uri)
    : owner_(owner), specs_(specs) {
  for (const auto& [key, value] : uri.arguments) {
    // dgenerate accepts snake_case spellings of dash-case keys as well.
    std::string name = key;
    std::replace(name.begin(), name.end(), '_', '-');
    if (!accepts(name))
      throw Error(owner_ + ": unknown argument \"" + key + "\", valid arguments: " + arguments::join_names(specs_));
    for (const auto& existing : values_)
      if (existing.first == name) throw Error(owner_ + ": duplicate argument \"" + name + "\"");
    values_.emplace_back(name, value);
  }
  for (const ArgumentSpec& s : specs_) {
    const bool given = std::any_of(values_.begin(), values_.end(), [&](const auto& v) { return v.first == s.name; });
    if (!given && s.default_value.empty() && !s.optional)
      throw Error(owner_ + ": missing required argument \"" + s.name + "\"");
    if (given) check_type(s);
  }
}

void UriArguments::check_type(const ArgumentSpec& s) const {
  const std::string value = text(s.name);
  int64_t i = 0;
  double f = 0;
  bool b = false;
  switch (s.type) {
    case ArgumentType::Integer:
      if (!arguments::parse_integer(value, i)) fail(s.name, "must be an integer, got \"" + value + "\"");
      break;
    case ArgumentType::IntegerOrAuto:
      if (value != "auto" && !arguments::parse_integer(value, i))
        fail(s.name, "must be an integer or \"auto\", got \"" + value + "\"");
      break;
    case ArgumentType::Float:
      if (!arguments::parse_float(value, f)) fail(s.name, "must be a number, got \"" + value + "\"");
      break;
    case ArgumentType::Boolean:
      if (!arguments::parse_boolean(value, b)) fail(s.name, "must be true or false, got \"" + value + "\"");
      break;
    case ArgumentType::String:
    case ArgumentType::Path:
      break;
  }
}

const ArgumentSpec& UriArguments::spec(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return s;
  throw std::logic_error("processor " + owner_ + " has no argument " + name);
}

bool UriArguments::is_set(const std::string& name) const {
  return !text(name).empty();
}

std::string UriArguments::text(const std::string& name) const {
  for (const auto& v : values_)
    if (v.first == name) return v.second;
  return spec(name).default_value;
}

int64_t UriArguments::integer(const std::string& name) const {
  int64_t value = 0;
  if (!arguments::parse_integer(text(name), value)) fail(name, "must be an integer, got \"" + text(name) + "\"");
  return value;
}

double UriArguments::number(const std::string& name) const {
  double value = 0;
  if (!arguments::parse_float(text(name), value)) fail(name, "must be a number, got \"" + text(name) + "\"");
  return value;
}

bool UriArguments::flag(const std::string& name) const {
  bool value = false;
  if (!arguments::parse_boolean(text(name), value)) fail(name, "must be true or false, got \"" + text(name) + "\"");
  return value;
}

bool UriArguments::is_auto(const std::string& name) const { return text(name) == "auto"; }

bool UriArguments::accepts(const std::string& name) const {
  return std::any_of(specs_.begin(), specs_.end(), [&](const ArgumentSpec& s) { return s.name == name; });
}

void UriArguments::fail(const std::string& name, const std::string& message) const {
  throw Error(owner_ + ": argument \"" + name + "\" " + message);
}

}  // namespace uprez
