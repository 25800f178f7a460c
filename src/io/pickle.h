// A restricted unpickler for the Python pickles inside PyTorch checkpoints (protocols 2-5). It builds plain
// values and tensors only: the few Python globals a checkpoint needs are interpreted by name, any other is
// refused, and nothing from the file is ever executed. Memory use is bounded by the pickle's size and
// nothing is processed recursively, so a malicious stream can neither exhaust memory nor the call stack.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <torch/types.h>

#include "io/byte_reader.h"

namespace uprez::pickle {

class Dict;
class Unpickler;
struct Heap;

// A Python class or function named by the pickle ("module.name"); only allowed ones are ever created.
struct Global {
  std::string module;
  std::string name;
};

// One unpickled value. Containers, strings and tensors live in the Document that produced the value and are
// valid as long as it lives; copying a Value copies a reference, as in Python.
class Value {
 public:
  enum class Kind { None, Bool, Int, BigInt, Float, Str, Bytes, List, Tuple, Set, Dict, Global, Storage, Tensor };

  Value() = default;  // None

  Kind kind() const { return kind_; }
  bool is_none() const { return kind_ == Kind::None; }
  // Each accessor returns nullopt / nullptr unless the value is of its kind.
  std::optional<bool> as_bool() const { return scalar_if<bool>(Kind::Bool); }
  std::optional<int64_t> as_int() const { return scalar_if<int64_t>(Kind::Int); }
  std::optional<double> as_float() const { return scalar_if<double>(Kind::Float); }
  const std::string* as_str() const { return pointer_if<std::string>(Kind::Str); }
  const std::string* as_bytes() const { return pointer_if<std::string>(Kind::Bytes); }
  // The little-endian two's-complement bytes of an integer that does not fit int64.
  const std::string* as_big_int() const { return pointer_if<std::string>(Kind::BigInt); }
  const std::vector<Value>* as_list() const { return pointer_if<std::vector<Value>>(Kind::List); }
  const std::vector<Value>* as_tuple() const { return pointer_if<std::vector<Value>>(Kind::Tuple); }
  const std::vector<Value>* as_set() const { return pointer_if<std::vector<Value>>(Kind::Set); }
  const Dict* as_dict() const { return pointer_if<Dict>(Kind::Dict); }
  const Global* as_global() const { return pointer_if<Global>(Kind::Global); }
  // A storage is a 1-D tensor of the storage's dtype holding all of its elements.
  const torch::Tensor* as_storage() const { return pointer_if<torch::Tensor>(Kind::Storage); }
  const torch::Tensor* as_tensor() const { return pointer_if<torch::Tensor>(Kind::Tensor); }

  // The Python type name of a kind ("dict", "tensor", ...), for messages.
  static const char* kind_name(Kind kind);
  const char* kind_name() const { return kind_name(kind_); }

 private:
  friend class Unpickler;
  using Payload = std::variant<std::monostate, bool, int64_t, double, std::string*, std::vector<Value>*, Dict*,
                               Global*, torch::Tensor*>;

  Value(Kind kind, Payload payload) : kind_(kind), payload_(payload) {}

  template <typename T>
  std::optional<T> scalar_if(Kind kind) const {
    if (kind_ != kind) return std::nullopt;
    return std::get<T>(payload_);
  }
  template <typename T>
  const T* pointer_if(Kind kind) const {
    return kind_ == kind ? std::get<T*>(payload_) : nullptr;
  }

  Kind kind_ = Kind::None;
  Payload payload_;
};

// A Python dict or OrderedDict: entries in insertion order. Python's pickler never writes a key twice; should
// a stream do so, the key is listed twice and find() returns its last value, the one Python would keep.
class Dict {
 public:
  const std::vector<std::pair<Value, Value>>& items() const { return items_; }
  size_t size() const { return items_.size(); }
  // The value stored under the str key `key`, or nullptr.
  const Value* find(std::string_view key) const;

 private:
  friend class Unpickler;
  std::vector<std::pair<Value, Value>> items_;
};

// The result of unpickling: the top-level value and everything it references.
class Document {
 public:
  Document(Document&&) noexcept;
  Document& operator=(Document&&) noexcept;
  ~Document();

  const Value& root() const { return root_; }
  // Bytes the pickle took in its stream, up to and including its STOP opcode: where a following pickle begins.
  size_t size_in_stream() const { return size_in_stream_; }

 private:
  friend class Unpickler;
  Document(std::unique_ptr<Heap> heap, Value root, size_t size_in_stream);

  std::unique_ptr<Heap> heap_;
  Value root_;
  size_t size_in_stream_ = 0;
};

// Resolves a persistent id (the BINPERSID / PERSID opcodes) to the storage it names, or throws Error.
using PersistentLoad = std::function<torch::Tensor(const Value& persistent_id)>;

// Unpickles the first pickle in `stream`. Errors are uprez::Error messages that start with `path`; `part` says
// which pickle of the file this is (e.g. "archive/data.pkl"). Without `persistent_load`, persistent ids are
// an error.
Document unpickle(ByteView stream, const std::string& path, const std::string& part,
                  const PersistentLoad& persistent_load = nullptr);

// The element dtype of an allowed torch storage class (torch.FloatStorage -> float32); nullopt for others.
std::optional<torch::ScalarType> storage_class_dtype(const Global& global);

}  // namespace uprez::pickle
