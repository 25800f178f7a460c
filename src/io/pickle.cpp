#include "io/pickle.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>
#include <unordered_map>

#include "core/error.h"
#include "io/tensor_bytes.h"

namespace uprez::pickle {

namespace pickle {

// The opcodes this unpickler understands (names as in Python's pickletools).
enum Opcode : uint8_t {
  kMark = '(',
  kStop = '.',
  kInt = 'I',
  kBinInt = 'J',
  kBinInt1 = 'K',
  kBinInt2 = 'M',
  kNone = 'N',
  kPersId = 'P',
  kBinPersId = 'Q',
  kReduce = 'R',
  kBinString = 'T',
  kShortBinString = 'U',
  kBinUnicode = 'X',
  kAppend = 'a',
  kBuild = 'b',
  kGlobal = 'c',
  kAppends = 'e',
  kBinGet = 'h',
  kLongBinGet = 'j',
  kEmptyList = ']',
  kBinPut = 'q',
  kLongBinPut = 'r',
  kSetItem = 's',
  kTuple = 't',
  kSetItems = 'u',
  kEmptyDict = '}',
  kEmptyTuple = ')',
  kBinFloat = 'G',
  kBinBytes = 'B',
  kShortBinBytes = 'C',
  kProto = 0x80,
  kNewObj = 0x81,
  kTuple1 = 0x85,
  kTuple2 = 0x86,
  kTuple3 = 0x87,
  kNewTrue = 0x88,
  kNewFalse = 0x89,
  kLong1 = 0x8a,
  kLong4 = 0x8b,
  kShortBinUnicode = 0x8c,
  kBinUnicode8 = 0x8d,
  kBinBytes8 = 0x8e,
  kEmptySet = 0x8f,
  kAddItems = 0x90,
  kFrozenSet = 0x91,
  kStackGlobal = 0x93,
  kMemoize = 0x94,
  kFrame = 0x95,
};

// What an allowed global does when the pickle calls it.
enum class Role { OrderedDict, RebuildTensorV2, RebuildTensor, RebuildParameter, CodecsEncode, Device, Storage };

struct AllowedGlobal {
  const char* module;
  const char* name;
  Role role;
  torch::ScalarType storage_dtype;  // for Role::Storage
};

constexpr torch::ScalarType kNotAStorage = torch::ScalarType::Undefined;

constexpr AllowedGlobal kAllowedGlobals[] = {
    {"collections", "OrderedDict", Role::OrderedDict, kNotAStorage},
    {"typing", "OrderedDict", Role::OrderedDict, kNotAStorage},
    {"torch._utils", "_rebuild_tensor_v2", Role::RebuildTensorV2, kNotAStorage},
    {"torch._utils", "_rebuild_tensor", Role::RebuildTensor, kNotAStorage},
    {"torch._utils", "_rebuild_parameter", Role::RebuildParameter, kNotAStorage},
    {"_codecs", "encode", Role::CodecsEncode, kNotAStorage},
    {"torch", "device", Role::Device, kNotAStorage},
    {"torch", "FloatStorage", Role::Storage, torch::kFloat},
    {"torch", "HalfStorage", Role::Storage, torch::kHalf},
    {"torch", "BFloat16Storage", Role::Storage, torch::kBFloat16},
    {"torch", "DoubleStorage", Role::Storage, torch::kDouble},
    {"torch", "LongStorage", Role::Storage, torch::kLong},
    {"torch", "IntStorage", Role::Storage, torch::kInt},
    {"torch", "ShortStorage", Role::Storage, torch::kShort},
    {"torch", "CharStorage", Role::Storage, torch::kChar},
    {"torch", "ByteStorage", Role::Storage, torch::kByte},
    {"torch", "BoolStorage", Role::Storage, torch::kBool},
};

const AllowedGlobal* find_allowed(const Global& global) {
  for (const AllowedGlobal& allowed : kAllowedGlobals) {
    if (global.module == allowed.module && global.name == allowed.name) return &allowed;
  }
  return nullptr;
}

// Limits on what a stream can make the unpickler hold. Every heap object is charged an estimate of its size;
// the total may not exceed kBaseBudget plus kBudgetPerByte times the bytes read so far.
constexpr size_t kMaxStackSize = size_t{1} << 22;
constexpr size_t kMaxMarks = size_t{1} << 16;
constexpr size_t kMaxTensorDims = 64;
constexpr size_t kBaseBudget = size_t{16} << 20;
constexpr size_t kBudgetPerByte = 64;
constexpr size_t kObjectCost = 32;
constexpr size_t kTensorCost = 512;
constexpr size_t kMemoEntryCost = 64;

// The Latin-1 bytes of UTF-8 text, or nullopt when it is not valid UTF-8 of code points below 256.
std::optional<std::string> utf8_to_latin1(const std::string& text) {
  std::string bytes;
  bytes.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const auto lead = static_cast<uint8_t>(text[i]);
    if (lead < 0x80) {
      bytes.push_back(static_cast<char>(lead));
      continue;
    }
    if ((lead != 0xc2 && lead != 0xc3) || i + 1 == text.size()) return std::nullopt;
    const auto continuation = static_cast<uint8_t>(text[++i]);
    if ((continuation & 0xc0) != 0x80) return std::nullopt;
    bytes.push_back(static_cast<char>(((lead & 0x1f) << 6) | (continuation & 0x3f)));
  }
  return bytes;
}

}  // namespace pickle

// Owns everything the values of one Document point to. Deques keep element addresses stable as they grow,
// and destroying them never recurses, however deeply the values nest.
struct Heap {
  std::deque<std::string> strings;
  std::deque<std::vector<Value>> sequences;
  std::deque<Dict> dicts;
  std::deque<Global> globals;
  std::deque<torch::Tensor> tensors;
};

const char* Value::kind_name(Kind kind) {
  switch (kind) {
    case Kind::None: return "None";
    case Kind::Bool: return "bool";
    case Kind::Int:
    case Kind::BigInt: return "int";
    case Kind::Float: return "float";
    case Kind::Str: return "str";
    case Kind::Bytes: return "bytes";
    case Kind::List: return "list";
    case Kind::Tuple: return "tuple";
    case Kind::Set: return "set";
    case Kind::Dict: return "dict";
    case Kind::Global: return "global";
    case Kind::Storage: return "storage";
    case Kind::Tensor: return "tensor";
  }
  return "?";
}

const Value* Dict::find(std::string_view key) const {
  for (auto it = items_.rbegin(); it != items_.rend(); ++it) {
    const std::string* name = it->first.as_str();
    if (name && *name == key) return &it->second;
  }
  return nullptr;
}

Document::Document(std::unique_ptr<Heap> heap, Value root, size_t size_in_stream)
    : heap_(std::move(heap)), root_(root), size_in_stream_(size_in_stream) {}
Document::Document(Document&&) noexcept = default;
Document& Document::operator=(Document&&) noexcept = default;
Document::~Document() = default;

std::optional<torch::ScalarType> storage_class_dtype(const Global& global) {
  const pickle::AllowedGlobal* allowed = pickle::find_allowed(global);
  if (!allowed || allowed->role != pickle::Role::Storage) return std::nullopt;
  return allowed->storage_dtype;
}

// Runs the pickle machine over one stream; see unpickle().
class Unpickler {
 public:
  Unpickler(ByteView stream, const std::string& path, const std::string& part, const PersistentLoad& persistent_load)
      : reader_(stream, path + ": malformed pickle (" + part + ")"),
        path_(path),
        part_(part),
        persistent_load_(persistent_load),
        heap_(std::make_unique<Heap>()) {}

  Document run() {
    for (;;) {
      opcode_offset_ = reader_.position();
      const uint8_t opcode = reader_.u8();
      if (opcode == pickle::kStop) break;
      execute(opcode);
    }
    const Value root = pop();
    return Document(std::move(heap_), root, reader_.position());
  }

 private:
  using Kind = Value::Kind;

  void execute(uint8_t opcode) {
    switch (opcode) {
      case pickle::kProto: {
        const uint8_t protocol = reader_.u8();
        if (protocol < 2 || protocol > 5) fail("unsupported pickle protocol " + std::to_string(protocol));
        break;
      }
      case pickle::kFrame: {
        const uint64_t frame_size = reader_.u64();
        if (frame_size > reader_.remaining()) fail("a frame is longer than the remaining data");
        break;
      }
      case pickle::kMark:
        if (marks_.size() == pickle::kMaxMarks) fail("too many nested MARKs");
        marks_.push_back(stack_.size());
        break;
      case pickle::kEmptyDict: push(new_dict()); break;
      case pickle::kEmptyList: push(new_sequence(Kind::List, {})); break;
      case pickle::kEmptyTuple: push(new_sequence(Kind::Tuple, {})); break;
      case pickle::kEmptySet: push(new_sequence(Kind::Set, {})); break;
      case pickle::kTuple: push(new_sequence(Kind::Tuple, pop_to_mark())); break;
      case pickle::kTuple1: push(new_sequence(Kind::Tuple, pop_several(1))); break;
      case pickle::kTuple2: push(new_sequence(Kind::Tuple, pop_several(2))); break;
      case pickle::kTuple3: push(new_sequence(Kind::Tuple, pop_several(3))); break;
      case pickle::kFrozenSet: push(new_sequence(Kind::Set, pop_to_mark())); break;
      case pickle::kBinInt: push(new_int(reader_.i32())); break;
      case pickle::kBinInt1: push(new_int(reader_.u8())); break;
      case pickle::kBinInt2: push(new_int(reader_.u16())); break;
      case pickle::kLong1: push(new_long(reader_.bytes(reader_.u8()))); break;
      case pickle::kLong4: push(new_long(reader_.bytes(non_negative_length(reader_.i32())))); break;
      case pickle::kInt: push(parse_int(reader_.line())); break;
      case pickle::kBinFloat: push(read_binary_float()); break;
      case pickle::kNone: push(Value()); break;
      case pickle::kNewTrue: push(Value(Kind::Bool, true)); break;
      case pickle::kNewFalse: push(Value(Kind::Bool, false)); break;
      case pickle::kBinUnicode: push(new_string(Kind::Str, reader_.u32())); break;
      case pickle::kShortBinUnicode: push(new_string(Kind::Str, reader_.u8())); break;
      case pickle::kBinUnicode8: push(new_string(Kind::Str, reader_.u64())); break;
      case pickle::kBinString: push(new_string(Kind::Str, non_negative_length(reader_.i32()))); break;
      case pickle::kShortBinString: push(new_string(Kind::Str, reader_.u8())); break;
      case pickle::kBinBytes: push(new_string(Kind::Bytes, reader_.u32())); break;
      case pickle::kShortBinBytes: push(new_string(Kind::Bytes, reader_.u8())); break;
      case pickle::kBinBytes8: push(new_string(Kind::Bytes, reader_.u64())); break;
      case pickle::kGlobal: {
        std::string module = reader_.line();
        push(new_global(std::move(module), reader_.line()));
        break;
      }
      case pickle::kStackGlobal: {
        const Value name = pop();
        const Value module = pop();
        if (!name.as_str() || !module.as_str()) fail("STACK_GLOBAL needs two str values");
        push(new_global(*module.as_str(), *name.as_str()));
        break;
      }
      case pickle::kReduce: {
        const Value arguments = pop();
        const Value callable = pop();
        push(call(callable, arguments));
        break;
      }
      case pickle::kNewObj: {
        const Value arguments = pop();
        const Value cls = pop();
        push(instantiate(cls, arguments));
        break;
      }
      case pickle::kBuild: {
        // The state of an OrderedDict or a tensor is attribute data (e.g. a state dict's _metadata), not needed.
        pop();
        const Kind target = top().kind();
        if (target != Kind::Dict && target != Kind::Tensor)
          fail(std::string("BUILD on a ") + Value::kind_name(target) + " is not supported");
        break;
      }
      case pickle::kSetItem: {
        const Value value = pop();
        const Value key = pop();
        add_to_dict({key, value});
        break;
      }
      case pickle::kSetItems: {
        std::vector<Value> items = pop_to_mark();
        if (items.size() % 2 != 0) fail("SETITEMS with an odd number of values");
        for (size_t i = 0; i < items.size(); i += 2) add_to_dict({items[i], items[i + 1]});
        break;
      }
      case pickle::kAppend: add_to_sequence(Kind::List, {pop()}); break;
      case pickle::kAppends: add_to_sequence(Kind::List, pop_to_mark()); break;
      case pickle::kAddItems: add_to_sequence(Kind::Set, pop_to_mark()); break;
      case pickle::kBinPut: memo_put(reader_.u8()); break;
      case pickle::kLongBinPut: memo_put(reader_.u32()); break;
      case pickle::kMemoize: memo_put(memo_.size()); break;
      case pickle::kBinGet: push(memo_get(reader_.u8())); break;
      case pickle::kLongBinGet: push(memo_get(reader_.u32())); break;
      case pickle::kBinPersId: push(load_persistent(pop())); break;
      case pickle::kPersId: push(load_persistent(new_string(Kind::Str, reader_.line()))); break;
      default: fail("unsupported opcode 0x" + hex_byte(opcode));
    }
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(path_ + ": malformed pickle (" + part_ + ") at byte " + std::to_string(opcode_offset_) + ": " + what);
  }

  // --- the stack -------------------------------------------------------------------------------------------

  // Values below the innermost MARK belong to an enclosing construct and cannot be popped.
  size_t fence() const { return marks_.empty() ? 0 : marks_.back(); }

  void push(const Value& value) {
    if (stack_.size() == pickle::kMaxStackSize) fail("the stack grows beyond " + std::to_string(pickle::kMaxStackSize) + " values");
    stack_.push_back(value);
  }
  Value pop() {
    if (stack_.size() <= fence()) fail("stack underflow");
    const Value value = stack_.back();
    stack_.pop_back();
    return value;
  }
  const Value& top() const {
    if (stack_.size() <= fence()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<Value> pop_several(size_t count) {
    if (stack_.size() < fence() + count) fail("stack underflow");
    std::vector<Value> values(stack_.end() - static_cast<std::ptrdiff_t>(count), stack_.end());
    stack_.resize(stack_.size() - count);
    return values;
  }
  std::vector<Value> pop_to_mark() {
    if (marks_.empty()) fail("no MARK to collect values up to");
    const size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<Value> values(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return values;
  }

  // --- the memo --------------------------------------------------------------------------------------------

  void memo_put(uint64_t index) {
    const Value& value = top();
    if (memo_.count(index) == 0) charge(pickle::kMemoEntryCost);
    memo_[index] = value;
  }
  Value memo_get(uint64_t index) const {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo entry " + std::to_string(index) + " is read before it is written");
    return it->second;
  }

  // --- creating values -------------------------------------------------------------------------------------

  void charge(size_t cost) {
    charged_ += cost;
    if (charged_ > pickle::kBaseBudget + pickle::kBudgetPerByte * reader_.position())
      fail("the pickle expands to far more objects than its size explains");
  }
  template <typename T>
  T* keep(std::deque<T>& pool, T object, size_t cost) {
    charge(cost);
    pool.push_back(std::move(object));
    return &pool.back();
  }

  Value new_int(int64_t number) const { return Value(Kind::Int, number); }
  Value new_string(Kind kind, std::string text) {
    const size_t cost = pickle::kObjectCost + text.size();
    return Value(kind, keep(heap_->strings, std::move(text), cost));
  }
  Value new_string(Kind kind, uint64_t length) { return new_string(kind, reader_.string(length)); }
  Value new_sequence(Kind kind, std::vector<Value> items) {
    const size_t cost = pickle::kObjectCost + items.size() * sizeof(Value);
    return Value(kind, keep(heap_->sequences, std::move(items), cost));
  }
  Value new_dict() { return Value(Kind::Dict, keep(heap_->dicts, Dict(), pickle::kObjectCost)); }
  Value new_tensor(Kind kind, torch::Tensor tensor) {
    return Value(kind, keep(heap_->tensors, std::move(tensor), pickle::kTensorCost));
  }
  Value new_global(std::string module, std::string name) {
    Global global{std::move(module), std::move(name)};
    if (!pickle::find_allowed(global))
      throw Error(path_ + ": refusing to load: the model file references the Python global '" + global.module + "." +
                  global.name + "', which uprez does not execute");
    const size_t cost = pickle::kObjectCost + global.module.size() + global.name.size();
    return Value(Kind::Global, keep(heap_->globals, std::move(global), cost));
  }

  // LONG1/LONG4: a little-endian two's-complement integer of any length.
  Value new_long(ByteView bytes) {
    const bool negative = bytes.size > 0 && (bytes.data[bytes.size - 1] & 0x80) != 0;
    const uint8_t sign_byte = negative ? 0xff : 0x00;
    const bool fits_int64 =
        std::all_of(bytes.data + std::min<size_t>(bytes.size, 8), bytes.data + bytes.size,
                    [&](uint8_t byte) { return byte == sign_byte; }) &&
        (bytes.size <= 8 || ((bytes.data[7] & 0x80) != 0) == negative);
    if (!fits_int64) {
      return new_string(Kind::BigInt, std::string(reinterpret_cast<const char*>(bytes.data), bytes.size));
    }
    uint64_t bits = negative ? ~uint64_t{0} : 0;
    for (size_t i = 0; i < std::min<size_t>(bytes.size, 8); ++i) {
      bits &= ~(uint64_t{0xff} << (8 * i));
      bits |= uint64_t{bytes.data[i]} << (8 * i);
    }
    return new_int(static_cast<int64_t>(bits));
  }

  // INT: a decimal line, where "01" and "00" stand for True and False.
  Value parse_int(const std::string& text) {
    if (text == "01" || text == "00") return Value(Kind::Bool, text == "01");
    int64_t number = 0;
    const char* end = text.data() + text.size();
    const auto [parsed_end, error] = std::from_chars(text.data(), end, number);
    if (error != std::errc() || parsed_end != end || text.empty()) fail("INT with an invalid number '" + text + "'");
    return new_int(number);
  }

  Value read_binary_float() {
    const ByteView big_endian = reader_.bytes(8);
    uint8_t little_endian[8];
    std::reverse_copy(big_endian.data, big_endian.data + 8, little_endian);
    double number = 0;
    std::memcpy(&number, little_endian, sizeof number);
    return Value(Kind::Float, number);
  }

  uint64_t non_negative_length(int32_t length) const {
    if (length < 0) fail("negative length " + std::to_string(length));
    return static_cast<uint64_t>(length);
  }

  // --- containers ------------------------------------------------------------------------------------------

  void add_to_dict(std::pair<Value, Value> item) {
    const Value& target = top();
    if (target.kind() != Kind::Dict)
      fail(std::string("SETITEM(S) on a ") + target.kind_name() + " instead of a dict");
    charge(2 * sizeof(Value));
    std::get<Dict*>(target.payload_)->items_.push_back(std::move(item));
  }

  void add_to_sequence(Kind kind, std::vector<Value> items) {
    const Value& target = top();
    if (target.kind() != kind)
      fail(std::string("adding items to a ") + target.kind_name() + " instead of a " + Value::kind_name(kind));
    charge(items.size() * sizeof(Value));
    auto* sequence = std::get<std::vector<Value>*>(target.payload_);
    sequence->insert(sequence->end(), items.begin(), items.end());
  }

  // --- allowed globals -------------------------------------------------------------------------------------

  const pickle::AllowedGlobal& allowed_callable(const Value& callable, const char* opcode) const {
    const Global* global = callable.as_global();
    if (!global) fail(std::string(opcode) + " on a " + callable.kind_name() + " instead of a class or function");
    return *pickle::find_allowed(*global);
  }

  const std::vector<Value>& arguments_tuple(const Value& arguments, const char* opcode) const {
    const std::vector<Value>* tuple = arguments.as_tuple();
    if (!tuple) fail(std::string(opcode) + " with arguments that are a " + arguments.kind_name() + ", not a tuple");
    return *tuple;
  }

  void expect_argument_count(const pickle::AllowedGlobal& callee, const std::vector<Value>& arguments, size_t minimum,
                             size_t maximum) const {
    if (arguments.size() < minimum || arguments.size() > maximum)
      fail(std::string(callee.module) + "." + callee.name + " called with " + std::to_string(arguments.size()) +
           " arguments");
  }

  // REDUCE: calls an allowed function (or class) with a tuple of arguments.
  Value call(const Value& callable, const Value& arguments_value) {
    const pickle::AllowedGlobal& callee = allowed_callable(callable, "REDUCE");
    const std::vector<Value>& arguments = arguments_tuple(arguments_value, "REDUCE");
    switch (callee.role) {
      case pickle::Role::OrderedDict:
        expect_argument_count(callee, arguments, 0, 0);
        return new_dict();
      case pickle::Role::RebuildTensorV2:  // (storage, offset, size, stride, requires_grad, hooks[, metadata])
        expect_argument_count(callee, arguments, 6, 7);
        return rebuild_tensor(arguments);
      case pickle::Role::RebuildTensor:  // (storage, offset, size, stride)
        expect_argument_count(callee, arguments, 4, 4);
        return rebuild_tensor(arguments);
      case pickle::Role::RebuildParameter: {  // (data, requires_grad, hooks)
        expect_argument_count(callee, arguments, 3, 3);
        if (!arguments[0].as_tensor()) fail("_rebuild_parameter of a " + std::string(arguments[0].kind_name()));
        return arguments[0];
      }
      case pickle::Role::CodecsEncode:  // protocol 2 writes bytes as _codecs.encode(text, "latin1")
        return encode_latin1(callee, arguments);
      case pickle::Role::Device:
        return device_name(callee, arguments);
      case pickle::Role::Storage:
        break;
    }
    fail(std::string("the storage class ") + callee.module + "." + callee.name + " is called, which torch never does");
  }

  // NEWOBJ: cls.__new__(cls, *args), allowed for OrderedDict only.
  Value instantiate(const Value& cls, const Value& arguments_value) {
    const pickle::AllowedGlobal& callee = allowed_callable(cls, "NEWOBJ");
    const std::vector<Value>& arguments = arguments_tuple(arguments_value, "NEWOBJ");
    if (callee.role != pickle::Role::OrderedDict)
      fail(std::string("NEWOBJ on ") + callee.module + "." + callee.name + ", which is not a class");
    expect_argument_count(callee, arguments, 0, 0);
    return new_dict();
  }

  int64_t non_negative_int(const Value& value, const char* what) const {
    const std::optional<int64_t> number = value.as_int();
    if (!number || *number < 0) fail(std::string(what) + " is not a non-negative int");
    return *number;
  }

  std::vector<int64_t> int_tuple(const Value& value, const char* what) const {
    const std::vector<Value>* tuple = value.as_tuple();
    if (!tuple) fail(std::string(what) + " is a " + value.kind_name() + ", not a tuple");
    if (tuple->size() > pickle::kMaxTensorDims) fail(std::string(what) + " has more than 64 dimensions");
    std::vector<int64_t> numbers;
    for (const Value& item : *tuple) numbers.push_back(non_negative_int(item, what));
    return numbers;
  }

  // _rebuild_tensor(_v2): a view of a storage, after checking that every element it covers is inside it.
  Value rebuild_tensor(const std::vector<Value>& arguments) {
    const torch::Tensor* storage = arguments[0].as_storage();
    if (!storage) fail(std::string("a tensor is rebuilt from a ") + arguments[0].kind_name() + " instead of a storage");
    const int64_t offset = non_negative_int(arguments[1], "the tensor's storage offset");
    const std::vector<int64_t> sizes = int_tuple(arguments[2], "the tensor's size");
    const std::vector<int64_t> strides = int_tuple(arguments[3], "the tensor's stride");
    if (sizes.size() != strides.size()) fail("the tensor's size and stride have different lengths");
    const int64_t available = storage->numel();
    const std::optional<int64_t> count = element_count(sizes);
    if (!count) fail("the tensor's element count overflows");
    int64_t last = offset;
    bool overflow = false;
    if (*count > 0) {
      for (size_t i = 0; i < sizes.size(); ++i) {
        int64_t step = 0;
        overflow = overflow || __builtin_mul_overflow(sizes[i] - 1, strides[i], &step) ||
                   __builtin_add_overflow(last, step, &last);
      }
    }
    if (overflow || offset > available || (*count > 0 && last >= available))
      fail("a tensor (offset " + std::to_string(offset) + ", " + std::to_string(*count) +
           " elements) reaches beyond its storage of " + std::to_string(available) + " elements");
    return new_tensor(Kind::Tensor, storage->as_strided(sizes, strides, offset));
  }

  Value encode_latin1(const pickle::AllowedGlobal& callee, const std::vector<Value>& arguments) {
    expect_argument_count(callee, arguments, 2, 2);
    const std::string* text = arguments[0].as_str();
    const std::string* encoding = arguments[1].as_str();
    if (!text || !encoding || (*encoding != "latin1" && *encoding != "latin-1"))
      fail("_codecs.encode is only supported as encode(str, 'latin1')");
    std::optional<std::string> bytes = pickle::utf8_to_latin1(*text);
    if (!bytes) fail("_codecs.encode of text that is not Latin-1");
    return new_string(Kind::Bytes, std::move(*bytes));
  }

  // torch.device("cuda", 0) is kept as its name, "cuda:0".
  Value device_name(const pickle::AllowedGlobal& callee, const std::vector<Value>& arguments) {
    expect_argument_count(callee, arguments, 1, 2);
    const std::string* type = arguments[0].as_str();
    if (!type) fail("torch.device of a " + std::string(arguments[0].kind_name()));
    if (arguments.size() == 1) return new_string(Kind::Str, *type);
    return new_string(Kind::Str, *type + ":" + std::to_string(non_negative_int(arguments[1], "the device index")));
  }

  Value load_persistent(const Value& persistent_id) {
    if (!persistent_load_) fail("a persistent id appears where none is expected");
    return new_tensor(Kind::Storage, persistent_load_(persistent_id));
  }

  ByteReader reader_;
  const std::string& path_;
  const std::string& part_;
  const PersistentLoad& persistent_load_;
  std::unique_ptr<Heap> heap_;
  size_t charged_ = 0;
  size_t opcode_offset_ = 0;
  std::vector<Value> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value> memo_;
};

Document unpickle(ByteView stream, const std::string& path, const std::string& part,
                  const PersistentLoad& persistent_load) {
  return Unpickler(stream, path, part, persistent_load).run();
}

}  // namespace uprez::pickle
