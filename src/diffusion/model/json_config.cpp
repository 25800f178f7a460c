#include "diffusion/model/json_config.h"

#include <algorithm>
#include <fstream>

#include "core/error.h"

namespace uprez {

JsonConfig JsonConfig::read(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open the file");
  nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) throw Error(path + ": not valid JSON");
  if (!json.is_object()) throw Error(path + ": not a JSON object");
  return JsonConfig(std::move(json), path);
}

JsonConfig::JsonConfig(nlohmann::json json, std::string path) : json_(std::move(json)), path_(std::move(path)) {}

std::string JsonConfig::field(const std::string& key) const { return path_ + ": field \"" + key + "\""; }

bool JsonConfig::has(const std::string& key) const { return json_.contains(key); }

bool JsonConfig::is_null(const std::string& key) const { return !json_.contains(key) || json_.at(key).is_null(); }

const nlohmann::json* JsonConfig::lookup(const std::string& key) {
  read_.insert(key);
  auto it = json_.find(key);
  if (it == json_.end() || it->is_null()) return nullptr;
  return &*it;
}

int64_t JsonConfig::integer(const std::string& key, int64_t fallback) {
  const nlohmann::json* value = lookup(key);
  if (!value) return fallback;
  if (value->is_number_integer()) return value->get<int64_t>();
  if (value->is_number_float() && value->get<double>() == static_cast<double>(static_cast<int64_t>(value->get<double>())))
    return static_cast<int64_t>(value->get<double>());
  throw Error(field(key) + " must be an integer, not " + value->dump());
}

double JsonConfig::number(const std::string& key, double fallback) {
  const nlohmann::json* value = lookup(key);
  if (!value) return fallback;
  if (!value->is_number()) throw Error(field(key) + " must be a number, not " + value->dump());
  return value->get<double>();
}

bool JsonConfig::boolean(const std::string& key, bool fallback) {
  const nlohmann::json* value = lookup(key);
  if (!value) return fallback;
  if (!value->is_boolean()) throw Error(field(key) + " must be true or false, not " + value->dump());
  return value->get<bool>();
}

std::string JsonConfig::string(const std::string& key, const std::string& fallback) {
  const nlohmann::json* value = lookup(key);
  if (!value) return fallback;
  if (!value->is_string()) throw Error(field(key) + " must be a string, not " + value->dump());
  return value->get<std::string>();
}

std::vector<int64_t> JsonConfig::integers(const std::string& key, const std::vector<int64_t>& fallback) {
  const nlohmann::json* value = lookup(key);
  if (!value) return fallback;
  if (!value->is_array()) throw Error(field(key) + " must be a list of integers, not " + value->dump());
  std::vector<int64_t> out;
  for (const nlohmann::json& item : *value) {
    if (!item.is_number_integer()) throw Error(field(key) + " must be a list of integers, not " + value->dump());
    out.push_back(item.get<int64_t>());
  }
  return out;
}

std::vector<std::string> JsonConfig::strings(const std::string& key, const std::vector<std::string>& fallback) {
  const nlohmann::json* value = lookup(key);
  if (!value) return fallback;
  if (!value->is_array()) throw Error(field(key) + " must be a list of strings, not " + value->dump());
  std::vector<std::string> out;
  for (const nlohmann::json& item : *value) {
    if (!item.is_string()) throw Error(field(key) + " must be a list of strings, not " + value->dump());
    out.push_back(item.get<std::string>());
  }
  return out;
}

namespace json_config {

int64_t as_integer(const nlohmann::json& value) {
  return value.is_boolean() ? static_cast<int64_t>(value.get<bool>()) : value.get<int64_t>();
}

}  // namespace json_config

std::vector<int64_t> JsonConfig::expand_per_block(const std::string& key, const nlohmann::json& value,
                                                  size_t count) {
  if (!value.is_array()) return std::vector<int64_t>(count, json_config::as_integer(value));
  if (value.size() != count)
    throw Error(field(key) + " has " + std::to_string(value.size()) + " values for " + std::to_string(count) +
                " blocks");
  std::vector<int64_t> out;
  for (const nlohmann::json& item : value) out.push_back(json_config::as_integer(item));
  return out;
}

std::vector<int64_t> JsonConfig::integers_per_block(const std::string& key, int64_t fallback, size_t count) {
  const nlohmann::json* value = lookup(key);
  if (!value) return std::vector<int64_t>(count, fallback);
  const bool ok = value->is_number_integer() ||
                  (value->is_array() && std::all_of(value->begin(), value->end(),
                                                    [](const nlohmann::json& v) { return v.is_number_integer(); }));
  if (!ok) throw Error(field(key) + " must be an integer or a list of integers, not " + value->dump());
  return expand_per_block(key, *value, count);
}

std::vector<bool> JsonConfig::booleans_per_block(const std::string& key, bool fallback, size_t count) {
  const nlohmann::json* value = lookup(key);
  if (!value) return std::vector<bool>(count, fallback);
  const bool ok = value->is_boolean() ||
                  (value->is_array() &&
                   std::all_of(value->begin(), value->end(), [](const nlohmann::json& v) { return v.is_boolean(); }));
  if (!ok) throw Error(field(key) + " must be true/false or a list of them, not " + value->dump());
  std::vector<bool> out;
  for (int64_t v : expand_per_block(key, *value, count)) out.push_back(v != 0);
  return out;
}

void JsonConfig::require(const std::string& key, std::initializer_list<nlohmann::json> allowed) {
  const nlohmann::json* value = lookup(key);
  if (!value) return;
  for (const nlohmann::json& a : allowed)
    if (*value == a) return;
  throw Error(field(key) + " = " + value->dump() + " is not supported by uprez");
}

void JsonConfig::ignore(std::initializer_list<const char*> keys) {
  for (const char* key : keys) read_.insert(key);
}

void JsonConfig::finish() const {
  for (auto it = json_.begin(); it != json_.end(); ++it) {
    if (it.key().empty() || it.key()[0] == '_' || read_.count(it.key())) continue;
    throw Error(field(it.key()) + " is unknown to uprez (value " + it.value().dump() + ")");
  }
}

}  // namespace uprez
