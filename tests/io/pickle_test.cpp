// The restricted unpickler: every supported opcode, the allowed globals, refusal of any other global, and
// malformed, truncated, deeply nested or expanding streams, which must all end in an Error, never a crash.
#include "io/pickle.h"

#include <gtest/gtest.h>

#include <random>

#include "model_file_builders.h"

namespace uprez::pickle {
namespace pickle_test {

using test::append_le;
using test::expect_error;
using test::PickleWriter;

const std::string kPath = "/models/example.pth";

ByteView view(const std::string& bytes) { return {reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}; }

Document load(const std::string& bytes, const PersistentLoad& persistent_load = nullptr) {
  return unpickle(view(bytes), kPath, "data.pkl", persistent_load);
}

std::string le(uint64_t value, int byte_count) {
  std::string bytes;
  append_le(bytes, value, byte_count);
  return bytes;
}

// A persistent loader for torch storage ids: a storage of the id's dtype holding 0, 1, 2, ...
torch::Tensor arange_storage(const Value& persistent_id) {
  const std::vector<Value>* fields = persistent_id.as_tuple();
  if (!fields || fields->size() < 5 || !(*fields)[1].as_global() || !(*fields)[4].as_int())
    throw Error(kPath + ": test loader: unexpected persistent id");
  const int64_t count = *(*fields)[4].as_int();
  const std::optional<torch::ScalarType> dtype = storage_class_dtype(*(*fields)[1].as_global());
  if (!dtype || count < 0 || count > 1'000'000) throw Error(kPath + ": test loader: unexpected storage");
  return torch::arange(count, torch::TensorOptions().dtype(torch::kDouble)).to(*dtype);
}

// Pushes the persistent id ('storage', torch.FloatStorage, '0', 'cpu', count).
PickleWriter& float_storage(PickleWriter& writer, int32_t count) {
  return writer.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").integer(count).tuple().binpersid();
}

PickleWriter& int_tuple(PickleWriter& writer, const std::vector<int32_t>& numbers) {
  writer.mark();
  for (int32_t number : numbers) writer.integer(number);
  return writer.tuple();
}

// _rebuild_tensor_v2(FloatStorage(storage_size), offset, size, stride, False, OrderedDict())
std::string rebuild_tensor_pickle(int32_t storage_size, int32_t offset, const std::vector<int32_t>& size,
                                  const std::vector<int32_t>& stride) {
  PickleWriter writer;
  writer.proto(2).global("torch._utils", "_rebuild_tensor_v2").mark();
  float_storage(writer, storage_size).integer(offset);
  int_tuple(writer, size);
  int_tuple(writer, stride);
  writer.boolean(false).ordered_dict().tuple().reduce().stop();
  return writer.bytes();
}

TEST(Pickle, ReadsScalars) {
  PickleWriter writer;
  writer.proto(2).mark();
  writer.integer(-5);
  writer.op('K').op(200);                                                  // BININT1
  writer.op('M').raw(le(60000, 2));                                        // BININT2
  writer.op(0x8a).op(0);                                                   // LONG1 0
  writer.op(0x8a).op(1).op(0xff);                                          // LONG1 -1
  writer.op(0x8a).op(8).raw("\xff\xff\xff\xff\xff\xff\xff\x7f");           // LONG1 int64 max
  writer.op(0x8a).op(9).raw(std::string(9, '\xff'));                       // LONG1 -1 in 9 bytes
  writer.op(0x8a).op(9).raw(std::string(8, '\xff') + std::string(1, '\0'));  // LONG1 2**64 - 1
  writer.op(0x8b).raw(le(3, 4)).raw(std::string("\x00\x80\x00", 3));       // LONG4 32768
  writer.op('I').raw("-123\n").op('I').raw("01\n");                        // INT, INT True
  writer.op('G').raw(std::string("\x3f\xf8\0\0\0\0\0\0", 8));              // BINFLOAT 1.5
  writer.none().boolean(true).boolean(false);
  writer.tuple().stop();

  const Document document = load(writer.bytes());
  const std::vector<Value>& items = *document.root().as_tuple();
  ASSERT_EQ(items.size(), 15u);
  EXPECT_EQ(items[0].as_int(), -5);
  EXPECT_EQ(items[1].as_int(), 200);
  EXPECT_EQ(items[2].as_int(), 60000);
  EXPECT_EQ(items[3].as_int(), 0);
  EXPECT_EQ(items[4].as_int(), -1);
  EXPECT_EQ(items[5].as_int(), INT64_MAX);
  EXPECT_EQ(items[6].as_int(), -1);
  ASSERT_NE(items[7].as_big_int(), nullptr);
  EXPECT_EQ(*items[7].as_big_int(), std::string(8, '\xff') + std::string(1, '\0'));
  EXPECT_EQ(items[8].as_int(), 32768);
  EXPECT_EQ(items[9].as_int(), -123);
  EXPECT_EQ(items[10].as_bool(), true);
  EXPECT_EQ(items[11].as_float(), 1.5);
  EXPECT_TRUE(items[12].is_none());
  EXPECT_EQ(items[13].as_bool(), true);
  EXPECT_EQ(items[14].as_bool(), false);
  EXPECT_EQ(items[14].kind(), Value::Kind::Bool);
  EXPECT_EQ(items[0].as_str(), nullptr);
  EXPECT_EQ(items[0].as_float(), std::nullopt);
  EXPECT_EQ(document.size_in_stream(), writer.bytes().size());
}

TEST(Pickle, ReadsStringsAndBytes) {
  PickleWriter writer;
  writer.proto(4).mark();
  writer.str("h\xc3\xa9llo");                                     // BINUNICODE
  writer.op(0x8c).op(2).raw("ab");                                // SHORT_BINUNICODE
  writer.op(0x8d).raw(le(3, 8)).raw("abc");                       // BINUNICODE8
  writer.op('T').raw(le(2, 4)).raw("py");                         // BINSTRING
  writer.op('U').op(1).raw("z");                                  // SHORT_BINSTRING
  writer.op('B').raw(le(3, 4)).raw(std::string("\0\1\2", 3));     // BINBYTES
  writer.op('C').op(1).raw("\xff");                               // SHORT_BINBYTES
  writer.op(0x8e).raw(le(0, 8));                                  // BINBYTES8
  writer.global("_codecs", "encode").str("\xc3\xa9" "A").str("latin1").op(0x86).reduce();
  writer.global("torch", "device").str("cuda").integer(1).op(0x86).reduce();
  writer.tuple().stop();

  const Document document = load(writer.bytes());
  const std::vector<Value>& items = *document.root().as_tuple();
  ASSERT_EQ(items.size(), 10u);
  const std::vector<std::string> texts = {"h\xc3\xa9llo", "ab", "abc", "py", "z"};
  for (size_t i = 0; i < texts.size(); ++i) {
    ASSERT_NE(items[i].as_str(), nullptr) << i;
    EXPECT_EQ(*items[i].as_str(), texts[i]);
  }
  EXPECT_EQ(*items[5].as_bytes(), std::string("\0\1\2", 3));
  EXPECT_EQ(*items[6].as_bytes(), "\xff");
  EXPECT_EQ(*items[7].as_bytes(), "");
  EXPECT_EQ(*items[8].as_bytes(), "\xe9" "A");
  EXPECT_EQ(*items[9].as_str(), "cuda:1");
}

TEST(Pickle, BuildsContainersAndSharesMemoizedOnes) {
  PickleWriter writer;
  writer.proto(4).op(0x95).raw(le(0, 8));            // an (advisory) empty FRAME
  writer.empty_dict().op(0x94);                       // MEMOIZE -> memo 0
  writer.str("list").empty_list().binput(1).mark().integer(1).integer(2).op('e').integer(3).op('a').set_item();
  writer.str("same list").binget(1).set_item();
  writer.str("set").op(0x8f).mark().integer(1).op(0x90).set_item();
  writer.str("frozenset").mark().integer(4).op(0x91).set_item();
  writer.str("tuple").integer(1).integer(2).integer(3).op(0x87).set_item();
  writer.str("dict").empty_dict().mark().str("x").integer(1).str("y").integer(2).op('u').set_item();
  writer.str("ordered").global("collections", "OrderedDict").empty_tuple().reduce().set_item();
  writer.str("typing").str("typing").str("OrderedDict").op(0x93).empty_tuple().op(0x81);
  writer.empty_dict().op('b').set_item();              // BUILD with a state, as OrderedDict._metadata
  writer.str("long memo").integer(7).op('r').raw(le(100000, 4)).set_item();
  writer.str("from long memo").op('j').raw(le(100000, 4)).set_item();
  writer.stop();

  const Document document = load(writer.bytes());
  const Dict& dict = *document.root().as_dict();
  ASSERT_EQ(dict.size(), 10u);
  EXPECT_EQ(*dict.items()[0].first.as_str(), "list");
  const std::vector<Value>& list = *dict.find("list")->as_list();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[2].as_int(), 3);
  EXPECT_EQ(dict.find("same list")->as_list(), &list);
  EXPECT_EQ(dict.find("set")->as_set()->size(), 1u);
  EXPECT_EQ(dict.find("frozenset")->as_set()->size(), 1u);
  EXPECT_EQ(dict.find("tuple")->as_tuple()->size(), 3u);
  EXPECT_EQ(dict.find("dict")->as_dict()->find("y")->as_int(), 2);
  EXPECT_EQ(dict.find("ordered")->as_dict()->size(), 0u);
  EXPECT_NE(dict.find("typing")->as_dict(), nullptr);
  EXPECT_EQ(dict.find("from long memo")->as_int(), 7);
  EXPECT_EQ(dict.find("missing"), nullptr);
}

TEST(Pickle, RebuildsTensorsAsViewsOfTheirStorage) {
  const Document v2 = load(rebuild_tensor_pickle(10, 2, {2, 3}, {1, 2}), arange_storage);
  ASSERT_NE(v2.root().as_tensor(), nullptr);
  const torch::Tensor expected = torch::tensor({{2.f, 4.f, 6.f}, {3.f, 5.f, 7.f}});
  EXPECT_TRUE(torch::equal(*v2.root().as_tensor(), expected));

  PickleWriter parameter;  // _rebuild_parameter(_rebuild_tensor(storage, 0, (3,), (1,)), True, OrderedDict())
  parameter.proto(2).global("torch._utils", "_rebuild_parameter").mark();
  parameter.global("torch._utils", "_rebuild_tensor").mark();
  float_storage(parameter, 3).integer(0);
  int_tuple(parameter, {3});
  int_tuple(parameter, {1});
  parameter.tuple().reduce().boolean(true).ordered_dict().tuple().reduce().stop();
  const Document rebuilt = load(parameter.bytes(), arange_storage);
  EXPECT_TRUE(torch::equal(*rebuilt.root().as_tensor(), torch::tensor({0.f, 1.f, 2.f})));

  PickleWriter with_metadata;  // PyTorch 2 adds a seventh argument
  with_metadata.proto(2).global("torch._utils", "_rebuild_tensor_v2").mark();
  float_storage(with_metadata, 4).integer(0);
  int_tuple(with_metadata, {4});
  int_tuple(with_metadata, {1});
  with_metadata.boolean(false).ordered_dict().empty_dict().tuple().reduce().stop();
  EXPECT_EQ(load(with_metadata.bytes(), arange_storage).root().as_tensor()->numel(), 4);
}

TEST(Pickle, RefusesTensorsOutsideTheirStorage) {
  struct Case {
    int32_t storage_size;
    int32_t offset;
    std::vector<int32_t> size;
    std::vector<int32_t> stride;
    const char* fragment;
  };
  const std::vector<Case> cases = {
      {10, 5, {2, 3}, {1, 2}, "reaches beyond its storage of 10 elements"},
      {10, 11, {0}, {1}, "reaches beyond its storage"},
      {10, 0, {2}, {0x7fffffff}, "reaches beyond its storage"},
      {10, 0, {0x7fffffff, 0x7fffffff}, {1, 1}, "reaches beyond its storage"},
      {10, 0, {0x7fffffff, 0x7fffffff, 0x7fffffff}, {1, 1, 1}, "element count overflows"},
      {10, -1, {1}, {1}, "storage offset is not a non-negative int"},
      {10, 0, {-2}, {1}, "size is not a non-negative int"},
      {10, 0, {2}, {-1}, "stride is not a non-negative int"},
      {10, 0, {2, 2}, {1}, "different lengths"},
      {10, 0, std::vector<int32_t>(65, 1), std::vector<int32_t>(65, 1), "more than 64 dimensions"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.fragment);
    expect_error([&] { load(rebuild_tensor_pickle(c.storage_size, c.offset, c.size, c.stride), arange_storage); },
                 kPath, c.fragment);
  }
}

TEST(Pickle, RefusesEveryOtherGlobalWithoutRunningIt) {
  const std::vector<std::pair<std::string, std::string>> forbidden = {
      {"os", "system"},          {"posix", "system"},         {"builtins", "eval"},
      {"builtins", "exec"},      {"subprocess", "Popen"},     {"torch", "load"},
      {"collections", "deque"},  {"torch._utils", "_rebuild_qtensor"},
      {"numpy.core.multiarray", "_reconstruct"},              {"torch.nn.modules.conv", "Conv2d"},
  };
  for (const auto& [module, name] : forbidden) {
    const std::string message = kPath + ": refusing to load: the model file references the Python global '" + module +
                                "." + name + "', which uprez does not execute";
    PickleWriter via_global;
    via_global.proto(2).global(module, name).str("touch /tmp/uprez-pwned").op(0x85).reduce().stop();
    PickleWriter via_stack_global;
    via_stack_global.proto(4).str(module).str(name).op(0x93).str("touch /tmp/uprez-pwned").op(0x85).reduce().stop();
    for (const std::string& bytes : {via_global.bytes(), via_stack_global.bytes()}) {
      try {
        load(bytes);
        ADD_FAILURE() << module << "." << name << " was accepted";
      } catch (const Error& error) {
        EXPECT_EQ(std::string(error.what()), message);
      }
    }
  }
}

TEST(Pickle, MalformedStreamsAreErrors) {
  using namespace std::string_literals;
  const std::string p2 = "\x80\x02";
  const std::string ordered_dict = "ccollections\nOrderedDict\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {p2 + "\xff", "unsupported opcode 0xff"},
      {"\x80\x09", "unsupported pickle protocol 9"},
      {"\x80\x01", "unsupported pickle protocol 1"},
      {p2 + ".", "stack underflow"},
      {p2 + "t.", "no MARK"},
      {p2 + "\x85.", "stack underflow"},
      {p2 + "K\x01(\x86.", "stack underflow"},
      {p2 + "}K\x01" "a.", "instead of a list"},
      {p2 + "]K\x01K\x02s.", "instead of a dict"},
      {p2 + "](K\x01\x90.", "instead of a set"},
      {p2 + "}(K\x01u.", "odd number"},
      {p2 + "h\x05.", "memo entry 5 is read before it is written"},
      {p2 + "q\x00."s, "stack underflow"},
      {p2 + "K\x01)R.", "REDUCE on a int"},
      {p2 + ordered_dict + "]R.", "not a tuple"},
      {p2 + ordered_dict + "K\x01\x85R.", "called with 1 arguments"},
      {p2 + "ctorch._utils\n_rebuild_tensor_v2\n)\x81.", "not a class"},
      {p2 + "ctorch._utils\n_rebuild_tensor_v2\n)R.", "called with 0 arguments"},
      {p2 + "ctorch\nFloatStorage\n)R.", "storage class torch.FloatStorage is called"},
      {p2 + "ctorch._utils\n_rebuild_parameter\n(K\x01K\x01K\x01tR.", "_rebuild_parameter of a int"},
      {p2 + "c_codecs\nencode\nX\x03\0\0\0\xe2\x82\xacX\x06\0\0\0latin1\x86R."s, "not Latin-1"},
      {p2 + "c_codecs\nencode\nX\x01\0\0\0aX\x05\0\0\0utf-8\x86R."s, "encode(str, 'latin1')"},
      {p2 + "\x8b\xff\xff\xff\xff", "negative length"},
      {p2 + "T\xff\xff\xff\xff", "negative length"},
      {p2 + "\x8d" + le(uint64_t{1} << 62, 8), "truncated data"},
      {p2 + "Iabc\n.", "invalid number 'abc'"},
      {p2 + "I99999999999999999999\n.", "invalid number"},
      {p2 + "K\x01Q.", "persistent id appears where none is expected"},
      {p2 + "Pxyz\n.", "persistent id appears where none is expected"},
      {p2 + "]}b.", "BUILD on a list"},
      {p2 + "K\x01K\x02\x93.", "STACK_GLOBAL needs two str values"},
      {"\x80\x04\x95" + le(1000, 8), "frame is longer"},
      {p2 + std::string(70000, '('), "too many nested MARKs"},
      {p2 + "cos", "truncated data"},
      {p2 + "J\x01\x02", "truncated data"},
      {"", "truncated data"},
  };
  for (const auto& [bytes, fragment] : cases) {
    SCOPED_TRACE(fragment);
    expect_error([&] { load(bytes); }, kPath, fragment);
  }
}

// A checkpoint-like pickle exercising most opcodes that torch.save emits.
std::string checkpoint_pickle() {
  test::CheckpointPickler pickler(false);
  return pickler.pickle({{"conv.weight", test::test_tensor({4, 3, 3, 3})},
                         {"conv.bias", test::test_tensor({4}, torch::kHalf)},
                         {"steps", int64_t{12}},
                         {"nested", test::CheckpointDict{{"scale", test::test_tensor({1}, torch::kLong)}}}});
}

TEST(Pickle, ReadsACheckpointPickle) {
  const Document document = load(checkpoint_pickle(), arange_storage);
  const Dict& dict = *document.root().as_dict();
  ASSERT_EQ(dict.size(), 4u);
  const torch::Tensor& weight = *dict.find("conv.weight")->as_tensor();
  EXPECT_EQ(weight.sizes(), torch::IntArrayRef({4, 3, 3, 3}));
  EXPECT_EQ(weight.flatten()[5].item<float>(), 5.f);  // the test loader's storages count up
  EXPECT_EQ(dict.find("conv.bias")->as_tensor()->scalar_type(), torch::kHalf);
  EXPECT_EQ(dict.find("steps")->as_int(), 12);
  EXPECT_EQ(dict.find("nested")->as_dict()->find("scale")->as_tensor()->scalar_type(), torch::kLong);
}

TEST(Pickle, TruncatedAnywhereIsAnError) {
  const std::string bytes = checkpoint_pickle();
  for (size_t length = 0; length < bytes.size(); ++length) {
    expect_error([&] { load(bytes.substr(0, length), arange_storage); }, kPath);
  }
}

TEST(Pickle, RandomCorruptionNeverCrashes) {
  const std::string valid = checkpoint_pickle();
  std::mt19937 random(42);
  for (int trial = 0; trial < 5000; ++trial) {
    std::string bytes = valid;
    for (int i = 0; i <= trial % 3; ++i) bytes[random() % bytes.size()] = static_cast<char>(random());
    try {
      load(bytes, arange_storage);
    } catch (const Error& error) {
      EXPECT_EQ(std::string(error.what()).rfind(kPath, 0), 0u) << error.what();
    }
  }
}

TEST(Pickle, DeepNestingNeitherRecursesNorCrashes) {
  // list_0 = []; for i in 1..N: list_i = []; list_{i-1}.append(list_i), built top-down through the memo.
  constexpr uint32_t kDepth = 200000;
  PickleWriter writer;
  writer.proto(2).empty_list().op('r').raw(le(0, 4));
  for (uint32_t i = 1; i <= kDepth; ++i) {
    writer.op('j').raw(le(i - 1, 4)).empty_list().op('r').raw(le(i, 4)).op('a');
  }
  writer.op('j').raw(le(0, 4)).stop();
  const Document document = load(writer.bytes());
  uint32_t depth = 0;
  for (const std::vector<Value>* list = document.root().as_list(); !list->empty(); list = (*list)[0].as_list()) ++depth;
  EXPECT_EQ(depth, kDepth);
}

TEST(Pickle, SelfReferenceIsHarmless) {
  PickleWriter writer;  // l = []; l.append(l)
  writer.proto(2).empty_list().binput(0).binget(0).op('a').stop();
  const Document document = load(writer.bytes());
  const std::vector<Value>& list = *document.root().as_list();
  EXPECT_EQ(list[0].as_list(), &list);
}

TEST(Pickle, ExpansionBeyondTheFileSizeIsRefused) {
  // encode(big_text, "latin1") repeated through the memo would allocate far more than the stream holds.
  PickleWriter writer;
  writer.proto(2).global("_codecs", "encode").binput(0);
  writer.str(std::string(1 << 20, 'a')).str("latin1").op(0x86).binput(1);
  for (int i = 0; i < 1000; ++i) writer.binget(0).binget(1).reduce();
  writer.stop();
  expect_error([&] { load(writer.bytes()); }, kPath, "expands to far more objects than its size explains");
}

TEST(Pickle, StorageClassDtypes) {
  EXPECT_EQ(storage_class_dtype({"torch", "HalfStorage"}), torch::kHalf);
  EXPECT_EQ(storage_class_dtype({"torch", "BoolStorage"}), torch::kBool);
  EXPECT_EQ(storage_class_dtype({"torch", "CharStorage"}), torch::kChar);
  EXPECT_EQ(storage_class_dtype({"collections", "OrderedDict"}), std::nullopt);
  EXPECT_EQ(storage_class_dtype({"torch", "QInt8Storage"}), std::nullopt);
}

}  // namespace pickle_test
}  // namespace uprez::pickle
