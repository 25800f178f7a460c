#include "io/torch_file.h"

#include <cstring>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include <torch/torch.h>

#include "core/error.h"
#include "io/tensor_bytes.h"

namespace uprez {

namespace torch_file {

using pickle::Value;

// 0x1950a86a20f9469cfc6c, little-endian, as pickle's LONG1 stores it.
constexpr uint8_t kLegacyMagic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
constexpr int64_t kLegacyProtocolVersion = 1001;
constexpr size_t kMaxStorageKeyLength = 1024;
constexpr size_t kListedEntries = 10;

// The part of an entry name after its top-level folder ("archive/data.pkl" -> "data.pkl"), or "" if none.
std::string within_folder(const std::string& entry_name) {
  const size_t slash = entry_name.find('/');
  return slash == std::string::npos ? std::string() : entry_name.substr(slash + 1);
}

std::string folder_of(const std::string& entry_name) { return entry_name.substr(0, entry_name.find('/')); }

// The folder holding <folder>/data.pkl, the first in directory order, if any.
std::optional<std::string> checkpoint_folder(const ZipArchive& archive) {
  for (const std::string& name : archive.entry_names()) {
    if (within_folder(name) == "data.pkl") return folder_of(name);
  }
  return std::nullopt;
}

// "a, b, c and 12 more", for messages about unexpected archives.
std::string list_entries(const ZipArchive& archive) {
  const std::vector<std::string>& names = archive.entry_names();
  if (names.empty()) return "none";
  std::string listed;
  for (size_t i = 0; i < names.size() && i < kListedEntries; ++i) listed += (i ? ", " : "") + names[i];
  if (names.size() > kListedEntries) listed += " and " + std::to_string(names.size() - kListedEntries) + " more";
  return listed;
}

// The fields of a persistent id ('storage', StorageType, key, location, numel[, view_metadata]).
struct StorageReference {
  torch::ScalarType dtype;
  std::string key;
  int64_t element_count;
  Value view_metadata;  // legacy format only: None or (view_key, offset, size)
};

[[noreturn]] void fail_storage_reference(const std::string& path, const std::string& what) {
  throw Error(path + ": invalid storage reference in the checkpoint: " + what);
}

StorageReference parse_storage_reference(const std::string& path, const Value& persistent_id, size_t field_count) {
  const std::vector<Value>* fields = persistent_id.as_tuple();
  if (!fields || fields->size() != field_count)
    fail_storage_reference(path, "expected a tuple of " + std::to_string(field_count) + " fields");
  const Value& type_name = (*fields)[0];
  const std::string* type_text = type_name.as_str() ? type_name.as_str() : type_name.as_bytes();
  if (!type_text || *type_text != "storage") fail_storage_reference(path, "the persistent id is not a storage");
  const pickle::Global* storage_class = (*fields)[1].as_global();
  const std::optional<torch::ScalarType> dtype =
      storage_class ? pickle::storage_class_dtype(*storage_class) : std::nullopt;
  if (!dtype) fail_storage_reference(path, "the storage type is not a torch storage class");
  const std::string* key = (*fields)[2].as_str();
  if (!key || key->size() > kMaxStorageKeyLength) fail_storage_reference(path, "the storage key is not a short str");
  const std::optional<int64_t> element_count = (*fields)[4].as_int();
  if (!element_count || *element_count < 0 || !byte_size(*element_count, *dtype))
    fail_storage_reference(path, "storage '" + *key + "' has an invalid element count");
  return {*dtype, *key, *element_count, field_count > 5 ? (*fields)[5] : Value()};
}

// Loads the storages of a zip checkpoint on first reference, each from its own entry.
class ZipStorageLoader {
 public:
  ZipStorageLoader(const ZipArchive& archive, std::string folder) : archive_(archive), folder_(std::move(folder)) {}

  torch::Tensor operator()(const Value& persistent_id) {
    const StorageReference reference = parse_storage_reference(archive_.path(), persistent_id, 5);
    auto cached = loaded_.find(reference.key);
    if (cached != loaded_.end()) return cached->second;
    const std::string entry = folder_ + "/data/" + reference.key;
    if (!archive_.contains(entry))
      throw Error(archive_.path() + ": the checkpoint references storage '" + reference.key +
                  "' but the archive has no entry '" + entry + "'");
    const int64_t expected_bytes = *byte_size(reference.element_count, reference.dtype);
    if (archive_.entry_size(entry) != static_cast<uint64_t>(expected_bytes))
      throw Error(archive_.path() + ": storage entry '" + entry + "' holds " +
                  std::to_string(archive_.entry_size(entry)) + " bytes, but the checkpoint expects " +
                  std::to_string(reference.element_count) + " elements of " + c10::toString(reference.dtype) + " (" +
                  std::to_string(expected_bytes) + " bytes)");
    const ZipEntryData data = archive_.read(entry);
    torch::Tensor storage = tensor_from_bytes(data.bytes(), reference.dtype);
    loaded_.emplace(reference.key, storage);
    return storage;
  }

 private:
  const ZipArchive& archive_;
  std::string folder_;
  std::unordered_map<std::string, torch::Tensor> loaded_;
};

// Reads the consecutive pickles and the storage data of a legacy torch.save file.
class LegacyCheckpointReader {
 public:
  explicit LegacyCheckpointReader(const MappedFile& file) : file_(file) {}

  pickle::Document read() {
    const pickle::Document magic = next_pickle("legacy magic number");
    const std::string* magic_bytes = magic.root().as_big_int();
    if (!magic_bytes || magic_bytes->size() != sizeof kLegacyMagic ||
        std::memcmp(magic_bytes->data(), kLegacyMagic, sizeof kLegacyMagic) != 0)
      fail("it does not start with the legacy torch.save magic number");
    const pickle::Document protocol = next_pickle("legacy protocol version");
    if (protocol.root().as_int() != kLegacyProtocolVersion) fail("unsupported legacy protocol version");
    const pickle::Document system_info = next_pickle("legacy system info");
    const pickle::Dict* info = system_info.root().as_dict();
    const Value* little_endian = info ? info->find("little_endian") : nullptr;
    if (little_endian && little_endian->as_bool() == false)
      fail("the file was written on a big-endian machine, which uprez does not support");

    const pickle::PersistentLoad load_storage = [this](const Value& id) { return declare_storage(id); };
    pickle::Document checkpoint = next_pickle("legacy checkpoint object", load_storage);
    const pickle::Document storage_keys = next_pickle("legacy storage key list");
    read_storage_data(storage_keys.root());
    return checkpoint;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(file_.path() + ": invalid legacy torch.save file: " + what);
  }

  pickle::Document next_pickle(const std::string& part, const pickle::PersistentLoad& load_storage = nullptr) {
    pickle::Document document = pickle::unpickle(file_.bytes().tail(position_), file_.path(), part, load_storage);
    position_ += document.size_in_stream();
    return document;
  }

  // The data of a storage follows all pickles, so the storage is allocated here and filled later. Together the
  // storages may not claim more bytes than the file has.
  torch::Tensor declare_storage(const Value& persistent_id) {
    const StorageReference reference = parse_storage_reference(file_.path(), persistent_id, 6);
    auto root = roots_.find(reference.key);
    if (root == roots_.end()) {
      const int64_t bytes = *byte_size(reference.element_count, reference.dtype);
      declared_bytes_ += static_cast<uint64_t>(bytes);
      if (declared_bytes_ > file_.size())
        fail("its storages claim more bytes than the file holds (" + std::to_string(file_.size()) + ")");
      torch::Tensor storage = torch::empty({reference.element_count}, torch::TensorOptions().dtype(reference.dtype));
      root = roots_.emplace(reference.key, storage).first;
    }
    if (reference.view_metadata.is_none()) return root->second;
    return storage_view(root->second, reference.view_metadata);
  }

  // view_metadata (view_key, offset, size): a part of a root storage.
  torch::Tensor storage_view(const torch::Tensor& root, const Value& view_metadata) {
    const std::vector<Value>* fields = view_metadata.as_tuple();
    const std::string* view_key = fields && fields->size() == 3 ? (*fields)[0].as_str() : nullptr;
    const std::optional<int64_t> offset = view_key ? (*fields)[1].as_int() : std::nullopt;
    const std::optional<int64_t> size = view_key ? (*fields)[2].as_int() : std::nullopt;
    if (!offset || !size || *offset < 0 || *size < 0 || *offset > root.numel() || *size > root.numel() - *offset)
      fail("a storage view lies outside its storage");
    auto view = views_.find(*view_key);
    if (view == views_.end()) view = views_.emplace(*view_key, root.narrow(0, *offset, *size)).first;
    return view->second;
  }

  // After the key list: per storage, its element count (int64) and its bytes.
  void read_storage_data(const Value& keys_value) {
    const std::vector<Value>* keys = keys_value.as_list();
    if (!keys) fail("the storage key list is missing");
    ByteReader data(file_.bytes().tail(position_), file_.path() + ": truncated legacy torch.save file (storage data)");
    std::unordered_set<std::string> filled;
    for (const Value& key_value : *keys) {
      const std::string* key = key_value.as_str();
      auto storage = key ? roots_.find(*key) : roots_.end();
      if (storage == roots_.end()) fail("the storage key list names a storage the checkpoint does not use");
      const int64_t element_count = data.i64();
      if (element_count != storage->second.numel())
        fail("storage '" + *key + "' has " + std::to_string(element_count) + " elements in the file but " +
             std::to_string(storage->second.numel()) + " in the checkpoint");
      const int64_t bytes = storage->second.numel() * static_cast<int64_t>(storage->second.element_size());
      copy_bytes_into(storage->second, data.bytes(static_cast<uint64_t>(bytes)));
      filled.insert(*key);
    }
    for (const auto& root : roots_) {
      if (filled.count(root.first) == 0) fail("storage '" + root.first + "' has no data in the file");
    }
  }

  const MappedFile& file_;
  size_t position_ = 0;
  uint64_t declared_bytes_ = 0;
  std::unordered_map<std::string, torch::Tensor> roots_;
  std::unordered_map<std::string, torch::Tensor> views_;
};

}  // namespace torch_file

bool has_legacy_torch_magic(ByteView file_start) {
  constexpr uint8_t kProto = 0x80, kFrame = 0x95, kLong1 = 0x8a;
  constexpr size_t kFrameHeaderSize = 9;
  if (file_start.size < 2 || file_start.data[0] != kProto || file_start.data[1] < 2 || file_start.data[1] > 5)
    return false;
  size_t position = 2;
  if (file_start.size > position && file_start.data[position] == kFrame) position += kFrameHeaderSize;
  return file_start.contains(position, 2 + sizeof torch_file::kLegacyMagic) && file_start.data[position] == kLong1 &&
         file_start.data[position + 1] == sizeof torch_file::kLegacyMagic &&
         std::memcmp(file_start.data + position + 2, torch_file::kLegacyMagic, sizeof torch_file::kLegacyMagic) == 0;
}

bool is_torchscript_archive(const ZipArchive& archive) {
  for (const std::string& name : archive.entry_names()) {
    const std::string inner = torch_file::within_folder(name);
    if (inner == "constants.pkl" || inner.rfind("code/", 0) == 0) return true;
  }
  return false;
}

bool is_torch_checkpoint_archive(const ZipArchive& archive) {
  return !is_torchscript_archive(archive) && torch_file::checkpoint_folder(archive).has_value();
}

pickle::Document read_torch_zip_checkpoint(const ZipArchive& archive) {
  if (is_torchscript_archive(archive))
    throw Error(archive.path() +
                ": is a TorchScript archive (torch.jit.save), which holds code that uprez does not run; save the "
                "model's state_dict with torch.save instead (archive entries: " +
                torch_file::list_entries(archive) + ")");
  const std::optional<std::string> folder = torch_file::checkpoint_folder(archive);
  if (!folder)
    throw Error(archive.path() + ": is a zip archive but not a PyTorch checkpoint: it has no <folder>/data.pkl " +
                "(archive entries: " + torch_file::list_entries(archive) + ")");
  const std::string byte_order_entry = *folder + "/byteorder";
  if (archive.contains(byte_order_entry)) {
    const ZipEntryData byte_order = archive.read(byte_order_entry);
    const ByteView bytes = byte_order.bytes();
    if (std::string(reinterpret_cast<const char*>(bytes.data), bytes.size) != "little")
      throw Error(archive.path() + ": the checkpoint's tensors are not little-endian, which uprez does not support");
  }
  const std::string pickle_entry = *folder + "/data.pkl";
  const ZipEntryData pickle_data = archive.read(pickle_entry);
  torch_file::ZipStorageLoader storage_loader(archive, *folder);
  const pickle::PersistentLoad load_storage = [&storage_loader](const pickle::Value& id) { return storage_loader(id); };
  return pickle::unpickle(pickle_data.bytes(), archive.path(), pickle_entry, load_storage);
}

pickle::Document read_torch_legacy_checkpoint(const MappedFile& file) { return torch_file::LegacyCheckpointReader(file).read(); }

}  // namespace uprez
