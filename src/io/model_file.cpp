#include "io/model_file.h"

#include <algorithm>
#include <array>
#include <new>
#include <string_view>

#include <c10/util/Exception.h>

#include "core/error.h"
#include "io/mapped_file.h"
#include "io/pickle.h"
#include "io/safetensors.h"
#include "io/torch_file.h"
#include "io/zip_archive.h"

namespace uprez {

namespace model_file {

constexpr uint8_t kZipLocalHeaderMagic[] = {'P', 'K', 3, 4};
constexpr std::array<const char*, 7> kStateDictWrapperKeys = {"model_state_dict", "state_dict", "params_ema",
                                                              "params-ema",       "params",     "model",
                                                              "net"};
constexpr std::array<const char*, 2> kCommonPrefixes = {"module.", "netG."};
constexpr size_t kShownLeadingBytes = 16;
constexpr size_t kListedKeys = 10;

bool starts_with_zip_magic(ByteView bytes) {
  return bytes.size >= sizeof kZipLocalHeaderMagic &&
         std::equal(kZipLocalHeaderMagic, kZipLocalHeaderMagic + sizeof kZipLocalHeaderMagic, bytes.data);
}

ModelFileFormat detect_format(const MappedFile& file) {
  const ByteView bytes = file.bytes();
  if (starts_with_zip_magic(bytes)) {
    const ZipArchive archive(file);
    if (is_torchscript_archive(archive)) return ModelFileFormat::TorchScript;
    return is_torch_checkpoint_archive(archive) ? ModelFileFormat::TorchZip : ModelFileFormat::Unknown;
  }
  if (has_legacy_torch_magic(bytes)) return ModelFileFormat::TorchLegacy;
  if (looks_like_safetensors(bytes)) return ModelFileFormat::Safetensors;
  return ModelFileFormat::Unknown;
}

// "89 50 4e 47 0d 0a 1a 0a ... (\".PNG....\")": what a file that is not a model file starts with.
std::string describe_leading_bytes(ByteView bytes) {
  const size_t shown = std::min(bytes.size, kShownLeadingBytes);
  std::string hex;
  std::string text;
  for (size_t i = 0; i < shown; ++i) {
    const uint8_t byte = bytes.data[i];
    hex += (i ? " " : "") + hex_byte(byte);
    text += byte >= 0x20 && byte < 0x7f ? static_cast<char>(byte) : '.';
  }
  return hex + (bytes.size > shown ? " ..." : "") + " (\"" + text + "\")";
}

[[noreturn]] void fail_not_a_model_file(const MappedFile& file) {
  throw Error(file.path() +
              ": not a model file: expected a PyTorch checkpoint (.pth/.pt/.ckpt) or a safetensors file, but it "
              "starts with " +
              describe_leading_bytes(file.bytes()));
}

// Steps 1 and 2 of the canonicalization (see load_state_dict).
const pickle::Dict& unwrap_state_dict(const pickle::Dict& checkpoint) {
  const pickle::Dict* state_dict = &checkpoint;
  for (const char* key : kStateDictWrapperKeys) {
    const pickle::Value* wrapped = state_dict->find(key);
    if (wrapped && wrapped->as_dict()) {
      state_dict = wrapped->as_dict();
      break;
    }
  }
  if (state_dict->size() == 1) {
    const pickle::Dict* single = state_dict->items().front().second.as_dict();
    if (single) state_dict = single;
  }
  return *state_dict;
}

// Step 3: how many leading characters to remove from every key.
size_t common_prefix_length(const std::vector<std::string>& keys) {
  size_t length = 0;
  for (const std::string_view prefix : kCommonPrefixes) {
    const bool all_have_it = !keys.empty() && std::all_of(keys.begin(), keys.end(), [&](const std::string& key) {
      return key.compare(length, prefix.size(), prefix) == 0;
    });
    if (all_have_it) length += prefix.size();
  }
  return length;
}

// The named tensors of a canonical state dict, without the common prefix; `tensors[i]` is null for a
// non-tensor entry, which still counts for the prefix.
StateDict without_common_prefix(const std::vector<std::string>& keys, const std::vector<const torch::Tensor*>& tensors) {
  const size_t prefix_length = common_prefix_length(keys);
  StateDict state_dict;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (tensors[i]) state_dict.set(keys[i].substr(prefix_length), *tensors[i]);
  }
  return state_dict;
}

std::string list_keys(const pickle::Dict& dict) {
  std::string listed;
  size_t count = 0;
  for (const auto& item : dict.items()) {
    if (count == kListedKeys) return listed + ", ...";
    const std::string* key = item.first.as_str();
    listed += (count++ ? ", " : "") + (key ? *key : std::string("<") + item.first.kind_name() + ">");
  }
  return listed;
}

StateDict canonical_state_dict(const std::string& path, const pickle::Document& checkpoint) {
  const pickle::Dict* top_level = checkpoint.root().as_dict();
  if (!top_level)
    throw Error(path + ": the checkpoint holds a " + checkpoint.root().kind_name() + ", not a dict of weights");
  const pickle::Dict& state_dict = unwrap_state_dict(*top_level);
  std::vector<std::string> keys;
  std::vector<const torch::Tensor*> tensors;
  for (const auto& [key, value] : state_dict.items()) {
    if (!key.as_str()) continue;
    keys.push_back(*key.as_str());
    tensors.push_back(value.as_tensor());
  }
  StateDict result = without_common_prefix(keys, tensors);
  if (result.empty())
    throw Error(path + ": no tensors found in the checkpoint (its top-level keys: " + list_keys(*top_level) + ")");
  return result;
}

StateDict canonical_state_dict(const std::string& path, const StateDict& flat) {
  if (flat.empty()) throw Error(path + ": no tensors found in the safetensors file");
  std::vector<const torch::Tensor*> tensors;
  for (const std::string& key : flat.keys()) tensors.push_back(&flat.at(key));
  return without_common_prefix(flat.keys(), tensors);
}

StateDict read_and_canonicalize(const MappedFile& file) {
  const std::string& path = file.path();
  const ByteView bytes = file.bytes();
  if (bytes.size == 0) throw Error(path + ": the file is empty");
  // Any zip archive goes to the torch reader, which explains TorchScript and other archives by their entries.
  if (starts_with_zip_magic(bytes)) return canonical_state_dict(path, read_torch_zip_checkpoint(ZipArchive(file)));
  if (has_legacy_torch_magic(bytes)) return canonical_state_dict(path, read_torch_legacy_checkpoint(file));
  if (looks_like_safetensors(bytes))
    return canonical_state_dict(path, read_safetensors(bytes, path, [&](ByteView copied) { file.release(copied); }));
  fail_not_a_model_file(file);
}

}  // namespace model_file

ModelFileFormat detect_model_file_format(const std::string& path) { return model_file::detect_format(MappedFile(path)); }

StateDict load_state_dict(const std::string& path) {
  try {
    return model_file::read_and_canonicalize(MappedFile(path));
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& error) {  // the readers validate what LibTorch checks; this is a last resort
    throw Error(path + ": cannot read the model file: " + one_line_message(error));
  } catch (const std::bad_alloc&) {
    throw Error(path + ": not enough memory to read the model file");
  }
}

}  // namespace uprez
