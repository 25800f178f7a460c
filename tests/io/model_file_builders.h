// Test helpers that write the files the io tests read: zip archives, hand-assembled pickles, torch.save
// checkpoints (zip and legacy format) and safetensors files, all built in C++ at test time.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "core/error.h"

namespace uprez::test {

// --- files and bytes -------------------------------------------------------------------------------------------

// Replaces the file at `path`. Removing it first, rather than truncating it, spares ext4 the flush it does when a
// truncated file is rewritten, which the fuzz tests would otherwise pay thousands of times.
inline void write_file(const std::string& path, const std::string& bytes) {
  std::filesystem::remove(path);
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void append_le(std::string& out, uint64_t value, int byte_count) {
  for (int i = 0; i < byte_count; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

inline void store_le(std::string& bytes, size_t offset, uint64_t value, int byte_count) {
  for (int i = 0; i < byte_count; ++i) bytes[offset + i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

// The raw little-endian bytes of a tensor's elements.
inline std::string tensor_bytes(const torch::Tensor& tensor) {
  const torch::Tensor contiguous = tensor.contiguous();
  return std::string(static_cast<const char*>(contiguous.data_ptr()), contiguous.nbytes());
}

// Runs `action` and checks that it throws uprez::Error whose message starts with `path` and contains `fragment`.
inline void expect_error(const std::function<void()>& action, const std::string& path, const std::string& fragment = "") {
  try {
    action();
    ADD_FAILURE() << "expected an uprez::Error about " << path << " containing \"" << fragment << "\"";
  } catch (const uprez::Error& error) {
    const std::string message = error.what();
    EXPECT_EQ(message.rfind(path, 0), 0u) << "message does not start with the path: " << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << "message lacks \"" << fragment << "\": " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "message is not one line: " << message;
  }
}

// --- zip archives ----------------------------------------------------------------------------------------------

// Writes zip archives the way PyTorch does (stored entries, zip64 end records optional) or with deflated entries.
class ZipBuilder {
 public:
  ZipBuilder& add(const std::string& name, const std::string& data, bool deflate = false) {
    entries_.push_back({name, data, deflate});
    return *this;
  }

  std::string build(bool zip64 = false) const {
    std::string archive;
    std::string directory;
    for (const Entry& entry : entries_) {
      const std::string stored = entry.deflate ? deflate(entry.data) : entry.data;
      const uint32_t crc = static_cast<uint32_t>(
          crc32(0, reinterpret_cast<const Bytef*>(entry.data.data()), static_cast<uInt>(entry.data.size())));
      const uint16_t method = entry.deflate ? 8 : 0;
      const uint64_t local_offset = archive.size();
      append_le(archive, 0x04034b50, 4);
      append_le(archive, 20, 2);
      append_le(archive, 0, 2);
      append_le(archive, method, 2);
      append_le(archive, 0, 4);
      append_le(archive, crc, 4);
      append_le(archive, stored.size(), 4);
      append_le(archive, entry.data.size(), 4);
      append_le(archive, entry.name.size(), 2);
      append_le(archive, 0, 2);
      archive += entry.name + stored;

      // In zip64 mode every size and offset goes to the zip64 extra field.
      const uint64_t marker = 0xffffffff;
      append_le(directory, 0x02014b50, 4);
      append_le(directory, 45, 2);
      append_le(directory, 45, 2);
      append_le(directory, 0, 2);
      append_le(directory, method, 2);
      append_le(directory, 0, 4);
      append_le(directory, crc, 4);
      append_le(directory, zip64 ? marker : stored.size(), 4);
      append_le(directory, zip64 ? marker : entry.data.size(), 4);
      append_le(directory, entry.name.size(), 2);
      append_le(directory, zip64 ? 28 : 0, 2);
      append_le(directory, 0, 2);
      append_le(directory, 0, 2);
      append_le(directory, 0, 2);
      append_le(directory, 0, 4);
      append_le(directory, zip64 ? marker : local_offset, 4);
      directory += entry.name;
      if (zip64) {
        append_le(directory, 0x0001, 2);
        append_le(directory, 24, 2);
        append_le(directory, entry.data.size(), 8);
        append_le(directory, stored.size(), 8);
        append_le(directory, local_offset, 8);
      }
    }
    const uint64_t directory_offset = archive.size();
    archive += directory;
    if (zip64) {
      const uint64_t zip64_end = archive.size();
      append_le(archive, 0x06064b50, 4);
      append_le(archive, 44, 8);
      append_le(archive, 45, 2);
      append_le(archive, 45, 2);
      append_le(archive, 0, 4);
      append_le(archive, 0, 4);
      append_le(archive, entries_.size(), 8);
      append_le(archive, entries_.size(), 8);
      append_le(archive, directory.size(), 8);
      append_le(archive, directory_offset, 8);
      append_le(archive, 0x07064b50, 4);
      append_le(archive, 0, 4);
      append_le(archive, zip64_end, 8);
      append_le(archive, 1, 4);
    }
    append_le(archive, 0x06054b50, 4);
    append_le(archive, 0, 2);
    append_le(archive, 0, 2);
    append_le(archive, zip64 ? 0xffff : entries_.size(), 2);
    append_le(archive, zip64 ? 0xffff : entries_.size(), 2);
    append_le(archive, zip64 ? 0xffffffff : directory.size(), 4);
    append_le(archive, zip64 ? 0xffffffff : directory_offset, 4);
    append_le(archive, 0, 2);
    return archive;
  }

  // Raw DEFLATE (no zlib header), as zip entries store it.
  static std::string deflate(const std::string& data) {
    z_stream stream{};
    if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      throw std::runtime_error("deflateInit2 failed");
    std::string output(deflateBound(&stream, static_cast<uLong>(data.size())), '\0');
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    stream.avail_in = static_cast<uInt>(data.size());
    stream.next_out = reinterpret_cast<Bytef*>(output.data());
    stream.avail_out = static_cast<uInt>(output.size());
    const int status = ::deflate(&stream, Z_FINISH);
    output.resize(stream.total_out);
    deflateEnd(&stream);
    if (status != Z_STREAM_END) throw std::runtime_error("deflate failed");
    return output;
  }

 private:
  struct Entry {
    std::string name;
    std::string data;
    bool deflate;
  };
  std::vector<Entry> entries_;
};

// --- pickles ---------------------------------------------------------------------------------------------------

// Assembles a pickle opcode by opcode.
class PickleWriter {
 public:
  PickleWriter& op(uint8_t opcode) {
    bytes_.push_back(static_cast<char>(opcode));
    return *this;
  }
  PickleWriter& raw(const std::string& bytes) {
    bytes_ += bytes;
    return *this;
  }
  PickleWriter& proto(int version) { return op(0x80).op(static_cast<uint8_t>(version)); }
  PickleWriter& mark() { return op('('); }
  PickleWriter& stop() { return op('.'); }
  PickleWriter& none() { return op('N'); }
  PickleWriter& boolean(bool value) { return op(value ? 0x88 : 0x89); }
  PickleWriter& integer(int32_t value) {
    op('J');
    append_le(bytes_, static_cast<uint32_t>(value), 4);
    return *this;
  }
  PickleWriter& str(const std::string& text) {
    op('X');
    append_le(bytes_, text.size(), 4);
    return raw(text);
  }
  PickleWriter& global(const std::string& module, const std::string& name) {
    return op('c').raw(module + "\n" + name + "\n");
  }
  PickleWriter& tuple() { return op('t'); }
  PickleWriter& empty_tuple() { return op(')'); }
  PickleWriter& empty_dict() { return op('}'); }
  PickleWriter& empty_list() { return op(']'); }
  PickleWriter& reduce() { return op('R'); }
  PickleWriter& set_item() { return op('s'); }
  PickleWriter& binpersid() { return op('Q'); }
  PickleWriter& binput(uint8_t index) { return op('q').op(index); }
  PickleWriter& binget(uint8_t index) { return op('h').op(index); }
  // collections.OrderedDict()
  PickleWriter& ordered_dict() { return global("collections", "OrderedDict").empty_tuple().reduce(); }

  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

// --- torch.save checkpoints ------------------------------------------------------------------------------------

// A checkpoint's content: tensors, ints, strings and dicts of them, in order.
struct CheckpointValue;
using CheckpointDict = std::vector<std::pair<std::string, CheckpointValue>>;
struct CheckpointValue {
  std::variant<torch::Tensor, int64_t, std::string, CheckpointDict> content;
  CheckpointValue(torch::Tensor tensor) : content(std::move(tensor)) {}
  CheckpointValue(int64_t number) : content(number) {}
  CheckpointValue(const char* text) : content(std::string(text)) {}
  CheckpointValue(CheckpointDict dict) : content(std::move(dict)) {}
};

inline const char* storage_class_name(torch::ScalarType dtype) {
  static const std::map<torch::ScalarType, const char*> kNames = {
      {torch::kFloat, "FloatStorage"}, {torch::kHalf, "HalfStorage"},   {torch::kBFloat16, "BFloat16Storage"},
      {torch::kDouble, "DoubleStorage"}, {torch::kLong, "LongStorage"}, {torch::kInt, "IntStorage"},
      {torch::kShort, "ShortStorage"}, {torch::kChar, "CharStorage"},   {torch::kByte, "ByteStorage"},
      {torch::kBool, "BoolStorage"},
  };
  return kNames.at(dtype);
}

// Pickles a CheckpointDict as torch.save does; each tensor gets its own storage, whose key and tensor are
// collected in `storages`. Legacy persistent ids have a sixth field (view metadata, None).
class CheckpointPickler {
 public:
  explicit CheckpointPickler(bool legacy) : legacy_(legacy) {}

  std::string pickle(const CheckpointDict& checkpoint) {
    writer_.proto(2);
    dict(checkpoint);
    writer_.stop();
    return writer_.bytes();
  }

  const std::vector<std::pair<std::string, torch::Tensor>>& storages() const { return storages_; }

 private:
  void dict(const CheckpointDict& entries) {
    writer_.ordered_dict();
    for (const auto& [key, value] : entries) {
      writer_.str(key);
      if (auto tensor = std::get_if<torch::Tensor>(&value.content)) this->tensor(*tensor);
      if (auto number = std::get_if<int64_t>(&value.content)) writer_.integer(static_cast<int32_t>(*number));
      if (auto text = std::get_if<std::string>(&value.content)) writer_.str(*text);
      if (auto nested = std::get_if<CheckpointDict>(&value.content)) dict(*nested);
      writer_.set_item();
    }
  }

  // _rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())
  void tensor(const torch::Tensor& tensor) {
    const std::string key = std::to_string(storages_.size());
    storages_.emplace_back(key, tensor.contiguous());
    writer_.global("torch._utils", "_rebuild_tensor_v2").mark();
    writer_.mark().str("storage").global("torch", storage_class_name(tensor.scalar_type())).str(key).str("cpu");
    writer_.integer(static_cast<int32_t>(tensor.numel()));
    if (legacy_) writer_.none();
    writer_.tuple().binpersid().integer(0).mark();
    for (int64_t size : tensor.sizes()) writer_.integer(static_cast<int32_t>(size));
    writer_.tuple().mark();
    for (int64_t stride : tensor.contiguous().strides()) writer_.integer(static_cast<int32_t>(stride));
    writer_.tuple().boolean(false).ordered_dict().tuple().reduce();
  }

  bool legacy_;
  PickleWriter writer_;
  std::vector<std::pair<std::string, torch::Tensor>> storages_;
};

// A zip-format torch.save file whose archive folder is `folder`.
inline std::string torch_zip_checkpoint(const CheckpointDict& checkpoint, const std::string& folder = "archive") {
  CheckpointPickler pickler(false);
  ZipBuilder zip;
  zip.add(folder + "/data.pkl", pickler.pickle(checkpoint));
  zip.add(folder + "/byteorder", "little");
  for (const auto& [key, tensor] : pickler.storages()) zip.add(folder + "/data/" + key, tensor_bytes(tensor));
  zip.add(folder + "/version", "3\n");
  return zip.build(true);
}

// A legacy (pre-1.6) torch.save file.
inline std::string torch_legacy_checkpoint(const CheckpointDict& checkpoint) {
  std::string file;
  // The magic number 0x1950a86a20f9469cfc6c as LONG1, then protocol version 1001.
  file += PickleWriter().proto(2).op(0x8a).op(10).raw("\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19").stop().bytes();
  file += PickleWriter().proto(2).integer(1001).stop().bytes();
  PickleWriter system_info;
  system_info.proto(2).empty_dict().str("protocol_version").integer(1001).set_item();
  system_info.str("little_endian").boolean(true).set_item().stop();
  file += system_info.bytes();
  CheckpointPickler pickler(true);
  file += pickler.pickle(checkpoint);
  PickleWriter keys;
  keys.proto(2).empty_list().mark();
  for (const auto& storage : pickler.storages()) keys.str(storage.first);
  file += keys.op('e').stop().bytes();
  for (const auto& storage : pickler.storages()) {
    append_le(file, static_cast<uint64_t>(storage.second.numel()), 8);
    file += tensor_bytes(storage.second);
  }
  return file;
}

// --- safetensors -----------------------------------------------------------------------------------------------

inline const char* safetensors_dtype_name(torch::ScalarType dtype) {
  static const std::map<torch::ScalarType, const char*> kNames = {
      {torch::kFloat, "F32"}, {torch::kHalf, "F16"}, {torch::kBFloat16, "BF16"}, {torch::kDouble, "F64"},
      {torch::kLong, "I64"},  {torch::kInt, "I32"},  {torch::kShort, "I16"},     {torch::kChar, "I8"},
      {torch::kByte, "U8"},   {torch::kBool, "BOOL"},
  };
  return kNames.at(dtype);
}

// The JSON header and the data of a safetensors file; tests may edit the header before assembling.
struct SafetensorsParts {
  nlohmann::json header = nlohmann::json::object();
  std::string data;

  std::string assemble() const { return assemble_with_header(header.dump()); }
  std::string assemble_with_header(const std::string& header_text) const {
    std::string file;
    append_le(file, header_text.size(), 8);
    return file + header_text + data;
  }
};

inline SafetensorsParts safetensors_parts(const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  SafetensorsParts parts;
  parts.header["__metadata__"] = {{"format", "pt"}};
  for (const auto& [name, tensor] : tensors) {
    const std::string bytes = tensor_bytes(tensor);
    parts.header[name] = {{"dtype", safetensors_dtype_name(tensor.scalar_type())},
                          {"shape", tensor.sizes().vec()},
                          {"data_offsets", {parts.data.size(), parts.data.size() + bytes.size()}}};
    parts.data += bytes;
  }
  return parts;
}

// Deterministic test tensors.
inline torch::Tensor test_tensor(std::vector<int64_t> shape, torch::ScalarType dtype = torch::kFloat, double start = 0) {
  const int64_t count = torch::empty(shape).numel();
  return (torch::arange(count, torch::kDouble) * 0.25 + start).reshape(shape).to(dtype);
}

}  // namespace uprez::test
