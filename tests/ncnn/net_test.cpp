// The .param reader and Net: layout variants (CRLF, tabs, aligned columns, blank lines) read alike; graphs of Input
// and Split layers load and run (bound inputs, intermediate outputs, unbound inputs); every malformed .param or
// mismatched .bin is a one-line Error naming the file (and line); every model in the shared ncnn folder parses and,
// once all its layer types exist, loads with its .bin consumed exactly.
#include "ncnn/net.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "io/model_file_builders.h"
#include "ncnn/param_file.h"
#include "support/fixtures.h"

namespace uprez::ncnn {
namespace net_test {

namespace fs = std::filesystem;
using uprez::test::expect_error;

// Input -> data; data splits into a, b; b splits into c, d, e; c passes on as f.
const std::string kSplitGraph =
    "7767517\n"
    "4 7\n"
    "Input data 0 1 data 0=8 1=6 2=3\n"
    "Split split1 1 2 data a b\n"
    "Split split2 1 3 b c d e\n"
    "Split split3 1 1 c f\n";

class NetTest : public ::testing::Test {
 protected:
  // Writes `param` (and `bin`) as model.param/.bin and returns the .param path.
  std::string write_model(const std::string& param, const std::string& bin = "") {
    uprez::test::write_file(param_path_, param);
    uprez::test::write_file(bin_path_, bin);
    return param_path_;
  }
  Net load(const std::string& param, const std::string& bin = "") {
    write_model(param, bin);
    return Net::load(param_path_, bin_path_);
  }
  // Checks that loading `param` fails with an Error starting with "<param path>:<line>:" (or "<param path>:" when
  // line is 0) and containing `fragment`.
  void expect_malformed(const std::string& param, int line, const std::string& fragment) {
    SCOPED_TRACE(param);
    write_model(param);
    const std::string prefix = param_path_ + ":" + (line > 0 ? std::to_string(line) + ":" : "");
    uprez::test::expect_error([&] { Net::load(param_path_, bin_path_); }, prefix, fragment);
  }

  std::string dir_ = uprez::test::temp_dir();
  std::string param_path_ = dir_ + "/model.param";
  std::string bin_path_ = dir_ + "/model.bin";
};

TEST_F(NetTest, ReadsLayerLines) {
  write_model(
      "7767517\n"
      "2 3\n"
      "Input in 0 1 in 0=8 1=6 2=3\n"
      "Split sp 1 2 in x y -23309=2,1,2 4=0.5 30=1,3,8,8\n");
  const ParamFile file = read_param_file(param_path_);
  EXPECT_EQ(file.blob_count, 3);
  EXPECT_EQ(file.counts_location, param_path_ + ":2");
  ASSERT_EQ(file.layers.size(), 2u);
  const ParamLayer& split = file.layers[1];
  EXPECT_EQ(split.type, "Split");
  EXPECT_EQ(split.name, "sp");
  EXPECT_EQ(split.inputs, std::vector<std::string>{"in"});
  EXPECT_EQ(split.outputs, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(split.location, param_path_ + ":4");
  EXPECT_EQ(split.params.context(), param_path_ + ":4: Split sp");
  EXPECT_EQ(split.params.get_ints(9), (std::vector<int>{1, 2}));
  EXPECT_FLOAT_EQ(split.params.get_float(4, 0), 0.5f);
  EXPECT_FALSE(split.params.has(30));
  EXPECT_EQ(file.layers[0].params.get_int(1, 0), 6);
}

TEST_F(NetTest, ReadsAnyLayoutAlike) {
  const std::vector<std::string> layouts = {
      "7767517\r\n4 7\r\nInput data 0 1 data 0=8 1=6 2=3\r\nSplit split1 1 2 data a b\r\n"
      "Split split2 1 3 b c d e\r\nSplit split3 1 1 c f\r\n",
      "7767517\n4\t7\nInput\tdata\t0\t1\tdata\t0=8\t1=6\t2=3\nSplit\tsplit1\t1\t2\tdata\ta\tb\n"
      "Split\tsplit2\t1\t3\tb\tc\td\te\nSplit\tsplit3\t1\t1\tc\tf",
      "7767517\n"
      "4 7\n"
      "Input            data                     0 1 data 0=8 1=6 2=3\n"
      "Split            split1                   1 2 data a b\n"
      "Split            split2                   1 3 b c d e   \n"
      "Split            split3                   1 1 c f\n"
      "\n   \n\r\n",
      "\n7767517\n\n4 7\nInput data 0 1 data 0=8 1=6 2=3\n\nSplit split1 1 2 data a b\n"
      "Split split2 1 3 b c d e\nSplit split3 1 1 c f\n\n",
  };
  const Net reference = load(kSplitGraph);
  for (const std::string& layout : layouts) {
    SCOPED_TRACE(layout);
    const Net net = load(layout);
    EXPECT_EQ(net.blob_names(), reference.blob_names());
    ASSERT_EQ(net.layers().size(), reference.layers().size());
    for (size_t i = 0; i < net.layers().size(); ++i) {
      EXPECT_EQ(net.layers()[i].layer->type, reference.layers()[i].layer->type);
      EXPECT_EQ(net.layers()[i].layer->name, reference.layers()[i].layer->name);
      EXPECT_EQ(net.layers()[i].inputs, reference.layers()[i].inputs);
      EXPECT_EQ(net.layers()[i].outputs, reference.layers()[i].outputs);
    }
  }
}

TEST_F(NetTest, LoadsGraphWithDefaultsAndContexts) {
  const Net net = load(kSplitGraph);
  EXPECT_EQ(net.default_input(), "data");
  EXPECT_EQ(net.default_output(), "f");
  EXPECT_EQ(net.blob_names(), (std::vector<std::string>{"data", "a", "b", "c", "d", "e", "f"}));
  EXPECT_TRUE(net.has_blob("e"));
  EXPECT_FALSE(net.has_blob("g"));
  ASSERT_EQ(net.layers().size(), 4u);
  EXPECT_EQ(net.layers()[2].layer->context, param_path_ + ":5: Split split2");
  EXPECT_EQ(net.layers()[2].layer->output_count, 3);
  EXPECT_EQ(net.layers()[2].inputs, std::vector<int>{2});
  EXPECT_EQ(net.layers()[2].outputs, (std::vector<int>{3, 4, 5}));
}

TEST_F(NetTest, RunsTheLayersTheOutputNeeds) {
  const Net net = load(kSplitGraph);
  const torch::Tensor input = torch::rand({3, 6, 8});
  EXPECT_TRUE(net.run(input, net.default_input(), net.default_output()).is_same(input));
  EXPECT_TRUE(net.run(input, "data", "a").is_same(input));
  EXPECT_TRUE(net.run(input, "data", "e").is_same(input));
  EXPECT_TRUE(net.run(input, "data", "data").is_same(input));
  // Binding an intermediate blob skips the layers before it.
  EXPECT_TRUE(net.run(input, "b", "f").is_same(input));
  uprez::test::expect_error([&] { net.run(input, "data", "nowhere"); }, param_path_, "no blob named 'nowhere'");
  uprez::test::expect_error([&] { net.run(input, "nowhere", "f"); }, param_path_, "no blob named 'nowhere'");
}

TEST_F(NetTest, RefusesToRunAnUnboundInput) {
  const Net net = load(
      "7767517\n"
      "3 3\n"
      "Input first 0 1 x\n"
      "Input second 0 1 y\n"
      "Split split 1 1 y z\n");
  EXPECT_EQ(net.default_input(), "x");
  uprez::test::expect_error([&] { net.run(torch::rand({3, 4, 4}), "x", "z"); }, param_path_ + ":4: Input second",
               "no tensor is bound");
}

TEST_F(NetTest, RefusesBinWithBytesLeftOver) {
  write_model(kSplitGraph, std::string(4, '\0'));
  uprez::test::expect_error([&] { Net::load(param_path_, bin_path_); }, bin_path_, "4 bytes are left over");
}

TEST_F(NetTest, RefusesMissingFiles) {
  uprez::test::expect_error([&] { Net::load(dir_ + "/absent.param", bin_path_); }, dir_ + "/absent.param");
  write_model(kSplitGraph);
  uprez::test::expect_error([&] { Net::load(param_path_, dir_ + "/absent.bin"); }, dir_ + "/absent.bin");
}

TEST_F(NetTest, RefusesMalformedHeaders) {
  expect_malformed("", 0, "empty file");
  expect_malformed("\n\n  \n", 0, "empty file");
  expect_malformed("7767518\n1 1\nInput in 0 1 in\n", 1, "expected the magic number 7767517, found '7767518'");
  expect_malformed("7767517 1 1\nInput in 0 1 in\n", 1, "expected the magic number");
  expect_malformed(std::string("\x7f\x45LF\x02\x01\x01\0\0", 9), 1, "not an ncnn .param file");
  expect_malformed("7767517\n", 0, "truncated: no '<layer count> <blob count>' line");
  expect_malformed("7767517\n1\nInput in 0 1 in\n", 2, "expected '<layer count> <blob count>', found '1'");
  expect_malformed("7767517\n1 1 1\nInput in 0 1 in\n", 2, "expected '<layer count> <blob count>'");
  expect_malformed("7767517\nx 1\nInput in 0 1 in\n", 2, "layer count 'x' is not an integer");
  expect_malformed("7767517\n0 1\n", 2, "layer count 0 is out of range");
  expect_malformed("7767517\n1 -1\nInput in 0 1 in\n", 2, "blob count -1 is out of range");
  expect_malformed("7767517\n1099511627776 1\nInput in 0 1 in\n", 2, "layer count 1099511627776 is out of range");
  expect_malformed("7767517\n1 99999999999999999999999\nInput in 0 1 in\n", 2, "is not an integer");
}

TEST_F(NetTest, RefusesInconsistentCounts) {
  // Huge declared counts are only compared with what the file holds, never allocated.
  expect_malformed("7767517\n2000000000 2000000000\nInput in 0 1 in\n", 0,
                   "truncated: line 2 declares 2000000000 layers, the file has 1");
  expect_malformed("7767517\n1 1\nInput in 0 1 in\nSplit s 1 1 in out\n", 4,
                   "more layer lines than the 1 declared on line 2");
  expect_malformed("7767517\n2 9\nInput in 0 1 in\nSplit s 1 1 in out\n", 2, "declares 9 blobs, the layers produce 2");
  expect_malformed("7767517\n2 2000000000\nInput in 0 1 in\nSplit s 1 1 in out\n", 2,
                   "declares 2000000000 blobs, the layers produce 2");
}

TEST_F(NetTest, RefusesMalformedLayerLines) {
  const std::string header = "7767517\n2 2\nInput in 0 1 in\n";
  expect_malformed(header + "Split s 1\n", 4, "expected '<type> <name> <input count> <output count>");
  expect_malformed(header + "Split s one 1 in out\n", 4, "Split input count 'one' is not an integer");
  expect_malformed(header + "Split s 1 -1 in out\n", 4, "Split output count -1 is out of range");
  expect_malformed(header + "Split s 1099511627776 1 in out\n", 4, "input count 1099511627776 is out of range");
  expect_malformed(header + "Split s 2000000000 2000000000 in out\n", 4,
                   "Split s: lists 2000000000 inputs and 2000000000 outputs, but only 2 names follow");
  expect_malformed(header + "Split s 1 2 in out\n", 4, "lists 1 inputs and 2 outputs, but only 2 names follow");
  expect_malformed(header + "Split s 1 2 in out 0=1\n", 4, "blob name '0=1' looks like a parameter");
  expect_malformed(header + "Split s 1 1 in out 0=abc\n", 4, "Split s: parameter '0=abc': string values");
  expect_malformed(header + "Split s 1 1 in out 0\n", 4, "parameter '0': expected id=value");
  expect_malformed(header + "Split s 1 1 in out 1=2 -23300=4,1\n", 4, "the array length is 4 but 1 elements follow");
}

TEST_F(NetTest, RefusesBadGraphs) {
  const std::string header = "7767517\n2 2\nInput in 0 1 in\n";
  expect_malformed(header + "Frobnicate f 1 1 in out 0=1\n", 4, "Frobnicate f: unknown layer type 'Frobnicate'");
  expect_malformed(header + "Split s 1 1 nowhere out\n", 4, "Split s: input blob 'nowhere' is used before any layer");
  expect_malformed(header + "Split s 1 1 out out\n", 4, "input blob 'out' is used before any layer produces it");
  expect_malformed(header + "Split s 1 1 in in\n", 4, "output blob 'in' was already produced at " + param_path_ + ":3");
  expect_malformed("7767517\n2 2\nInput in 0 1 in\nSplit s 1 2 in x x\n", 4, "output blob 'x' was already produced");
  expect_malformed("7767517\n2 1\nInput in 0 1 in\nSplit s 1 0 in\n", 4, "Split s: the last layer produces no blob");
  expect_malformed("7767517\n2 1\nInput in 0 0\nInput in2 0 1 x\n", 3, "Input in: the first layer produces no blob");
}

// ---- the shared real models ----

std::vector<fs::path> shared_param_files() {
  std::vector<fs::path> files;
  for (const auto& item : fs::directory_iterator(uprez::test::models_root() + "/ncnn"))
    if (item.path().extension() == ".param") files.push_back(item.path());
  std::sort(files.begin(), files.end());
  return files;
}

std::string bin_for(const fs::path& param) { return fs::path(param).replace_extension(".bin").string(); }

TEST(SharedNcnnModelsTest, EveryParamFileParses) {
  UPREZ_REQUIRE_PATH(uprez::test::models_root() + "/ncnn");
  const std::vector<fs::path> files = shared_param_files();
  ASSERT_FALSE(files.empty());
  for (const fs::path& param : files) {
    SCOPED_TRACE(param.string());
    const ParamFile file = read_param_file(param.string());
    size_t outputs = 0;
    for (const ParamLayer& layer : file.layers) outputs += layer.outputs.size();
    EXPECT_EQ(outputs, static_cast<size_t>(file.blob_count));
    ASSERT_FALSE(file.layers.empty());
    EXPECT_EQ(file.layers.front().type, "Input");
  }
}

// Fails with "unknown layer type" for as long as a layer type these models use is not implemented.
TEST(SharedNcnnModelsTest, EveryModelLoadsWithItsBinConsumedExactly) {
  UPREZ_REQUIRE_PATH(uprez::test::models_root() + "/ncnn");
  for (const fs::path& param : shared_param_files()) {
    SCOPED_TRACE(param.string());
    try {
      const Net net = Net::load(param.string(), bin_for(param));
      EXPECT_TRUE(net.has_blob(net.default_input()));
    } catch (const std::exception& error) {
      ADD_FAILURE() << error.what();
    }
  }
}

TEST(SharedNcnnModelsTest, RefusesABinTooShortOrTooLong) {
  const std::string param = uprez::test::models_root() + "/ncnn/realesr-animevideov3-x4.param";
  UPREZ_REQUIRE_PATH(param);
  const std::string bin = uprez::test::read_file(bin_for(param));
  const std::string dir = uprez::test::temp_dir();
  const std::string short_bin = dir + "/short.bin";
  const std::string long_bin = dir + "/long.bin";
  uprez::test::write_file(short_bin, bin.substr(0, bin.size() - 4));
  uprez::test::write_file(long_bin, bin + std::string(8, '\0'));
  uprez::test::expect_error([&] { Net::load(param, short_bin); }, param, short_bin + ": file too short");
  uprez::test::expect_error([&] { Net::load(param, long_bin); }, long_bin, "8 bytes are left over");
}

}  // namespace net_test
}  // namespace uprez::ncnn
