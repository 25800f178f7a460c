#include <functional>
#include "io/safetensors.h"

#include <nlohmann/json.hpp>

#include <optional>

#include "core/error.h"
#include "io/tensor_bytes.h"

namespace uprez {

namespace safetensors {

constexpr size_t kLengthFieldSize = 8;
// The safetensors library refuses headers above 100 MB; so does uprez, before parsing one.
constexpr uint64_t kMaxHeaderSize = 100'000'000;
constexpr size_t kMaxDims = 64;
// A header nests three levels deep (header, tensor entry, shape); deeper JSON is refused while parsing.
constexpr int kMaxHeaderDepth = 16;

std::optional<torch::ScalarType> parse_dtype(const std::string& name) {
  static const std::pair<const char*, torch::ScalarType> kDtypes[] = {
      {"F32", torch::kFloat},  {"F16", torch::kHalf},  {"BF16", torch::kBFloat16}, {"F64", torch::kDouble},
      {"I64", torch::kLong},   {"I32", torch::kInt},   {"I16", torch::kShort},     {"I8", torch::kChar},
      {"U8", torch::kByte},    {"BOOL", torch::kBool},
  };
  for (const auto& [dtype_name, dtype] : kDtypes) {
    if (name == dtype_name) return dtype;
  }
  return std::nullopt;
}

// Reads one header entry {"dtype": ..., "shape": [...], "data_offsets": [begin, end]} and its data.
class TensorEntryReader {
 public:
  TensorEntryReader(const std::string& path, ByteView data, const std::function<void(ByteView)>& copied)
      : path_(path), data_(data), copied_(copied) {}

  torch::Tensor read(const std::string& name, const nlohmann::json& entry) const {
    if (!entry.is_object()) fail(name, "its header entry is not an object");
    const nlohmann::json* dtype_name = member(entry, "dtype");
    if (!dtype_name || !dtype_name->is_string()) fail(name, "it has no dtype");
    const std::optional<torch::ScalarType> dtype = parse_dtype(dtype_name->get<std::string>());
    if (!dtype) fail(name, "its dtype " + dtype_name->get<std::string>() + " is not supported");
    const std::vector<int64_t> shape = non_negative_integers(name, member(entry, "shape"), "shape", kMaxDims);
    const std::vector<int64_t> offsets = non_negative_integers(name, member(entry, "data_offsets"), "data_offsets", 2);
    if (offsets.size() != 2 || offsets[0] > offsets[1]) fail(name, "its data_offsets are not [begin, end]");
    const std::optional<int64_t> count = element_count(shape);
    const std::optional<int64_t> bytes = count ? byte_size(*count, *dtype) : std::nullopt;
    if (!bytes || *bytes != offsets[1] - offsets[0])
      fail(name, "its shape and dtype do not match its data size (" + std::to_string(offsets[1] - offsets[0]) +
                     " bytes)");
    if (!data_.contains(offsets[0], offsets[1] - offsets[0]))
      fail(name, "its data (bytes " + std::to_string(offsets[0]) + " to " + std::to_string(offsets[1]) +
                     ") lies beyond the end of the file's data (" + std::to_string(data_.size) + " bytes)");
    const ByteView range = data_.slice(offsets[0], *bytes);
    torch::Tensor tensor = tensor_from_bytes(range, *dtype).reshape(shape);
    if (copied_) copied_(range);
    return tensor;
  }

 private:
  [[noreturn]] void fail(const std::string& name, const std::string& what) const {
    throw Error(path_ + ": invalid safetensors header: tensor '" + name + "': " + what);
  }

  static const nlohmann::json* member(const nlohmann::json& object, const char* key) {
    auto it = object.find(key);
    return it == object.end() ? nullptr : &*it;
  }

  std::vector<int64_t> non_negative_integers(const std::string& name, const nlohmann::json* array, const char* field,
                                             size_t max_size) const {
    if (!array || !array->is_array() || array->size() > max_size) fail(name, std::string("its ") + field + " is invalid");
    std::vector<int64_t> numbers;
    for (const nlohmann::json& item : *array) {
      if (!item.is_number_unsigned() || item.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        fail(name, std::string("its ") + field + " holds something other than non-negative integers");
      numbers.push_back(item.get<int64_t>());
    }
    return numbers;
  }

  const std::string& path_;
  ByteView data_;
  const std::function<void(ByteView)>& copied_;
};

}  // namespace safetensors

bool looks_like_safetensors(ByteView file) {
  if (file.size < safetensors::kLengthFieldSize + 2) return false;
  const uint64_t header_size = load_le64(file.data);
  return header_size >= 2 && header_size <= safetensors::kMaxHeaderSize && file.contains(safetensors::kLengthFieldSize, header_size) &&
         file.data[safetensors::kLengthFieldSize] == '{';
}

StateDict read_safetensors(ByteView file, const std::string& path, const std::function<void(ByteView)>& copied) {
  ByteReader reader(file, path + ": truncated safetensors file");
  const uint64_t header_size = reader.u64();
  if (header_size > safetensors::kMaxHeaderSize || header_size > reader.remaining())
    throw Error(path + ": invalid safetensors file: its header length (" + std::to_string(header_size) +
                " bytes) exceeds the file size (" + std::to_string(file.size) + " bytes)");
  const ByteView header_bytes = reader.bytes(header_size);
  nlohmann::json header;
  try {
    const auto limit_depth = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
      if (depth > safetensors::kMaxHeaderDepth) throw Error(path + ": invalid safetensors header: JSON nested too deeply");
      return true;
    };
    header = nlohmann::json::parse(header_bytes.data, header_bytes.data + header_bytes.size, limit_depth);
  } catch (const nlohmann::json::exception& error) {
    throw Error(path + ": invalid safetensors header: not valid JSON (" + error.what() + ")");
  }
  if (!header.is_object()) throw Error(path + ": invalid safetensors header: not a JSON object");

  const safetensors::TensorEntryReader entry_reader(path, reader.bytes(reader.remaining()), copied);
  StateDict tensors;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    tensors.set(name, entry_reader.read(name, entry));
  }
  return tensors;
}

}  // namespace uprez
