// A component's config.json read strictly: each field is read with its diffusers/transformers default, values
// uprez does not implement are errors naming the file and field, and so is any field nobody read.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace uprez {

class JsonConfig {
 public:
  // Parses `path`; throws Error("<path>: ...") when it is missing or not a JSON object.
  static JsonConfig read(const std::string& path);
  JsonConfig(nlohmann::json json, std::string path);

  const std::string& path() const { return path_; }
  bool has(const std::string& key) const;
  // True when the field is absent or null.
  bool is_null(const std::string& key) const;
  // Typed reads; an absent or null field gives `fallback`, a value of another type throws Error naming the field.
  int64_t integer(const std::string& key, int64_t fallback);
  double number(const std::string& key, double fallback);
  bool boolean(const std::string& key, bool fallback);
  std::string string(const std::string& key, const std::string& fallback);
  std::vector<int64_t> integers(const std::string& key, const std::vector<int64_t>& fallback);
  std::vector<std::string> strings(const std::string& key, const std::vector<std::string>& fallback);
  // A field that is a single value or one value per block (e.g. only_cross_attention): `count` values.
  std::vector<int64_t> integers_per_block(const std::string& key, int64_t fallback, size_t count);
  std::vector<bool> booleans_per_block(const std::string& key, bool fallback, size_t count);

  // The field must be absent, null or equal to one of `allowed` (as JSON values); else Error naming the value.
  void require(const std::string& key, std::initializer_list<nlohmann::json> allowed);
  // Fields that do not change inference (descriptions, training settings): read and dropped.
  void ignore(std::initializer_list<const char*> keys);
  // Throws Error naming the first field that was neither read nor ignored. Fields starting with '_' are metadata.
  void finish() const;

  // "<path>: field \"key\" ..." for messages.
  std::string field(const std::string& key) const;

 private:
  const nlohmann::json* lookup(const std::string& key);
  std::vector<int64_t> expand_per_block(const std::string& key, const nlohmann::json& value, size_t count);

  nlohmann::json json_;
  std::string path_;
  std::set<std::string> read_;
};

}  // namespace uprez
