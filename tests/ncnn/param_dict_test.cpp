// ParamDict and the id=value syntax of .param lines: ints versus floats by their text, both array syntaxes, the ids
// ncnn keeps for itself, typed getters that refuse what a layer cannot use, and errors that name the parameter.
#include "ncnn/param_dict.h"

#include <gtest/gtest.h>

#include <limits>

#include "io/model_file_builders.h"
#include "ncnn/param_file.h"

namespace uprez::ncnn {
namespace param_dict_test {

using uprez::test::expect_error;

const std::string kContext = "model.param:7: Convolution conv1";

ParamDict parse(const std::vector<std::string>& tokens) { return parse_param_pairs(tokens, kContext); }

TEST(ParamDictTest, TellsFloatsFromIntsByTheirText) {
  const ParamDict params = parse({"0=32", "1=-3", "2=1.5", "3=1e-3", "4=2E+2", "5=-2.", "6=+7"});
  EXPECT_EQ(params.get_int(0, 0), 32);
  EXPECT_EQ(params.get_int(1, 0), -3);
  EXPECT_EQ(params.get_int(6, 0), 7);
  EXPECT_FLOAT_EQ(params.get_float(2, 0), 1.5f);
  EXPECT_FLOAT_EQ(params.get_float(3, 0), 0.001f);
  EXPECT_FLOAT_EQ(params.get_float(4, 0), 200.f);
  EXPECT_FLOAT_EQ(params.get_float(5, 0), -2.f);
  // A float read as an int is refused (ncnn would reinterpret its bits); an int read as a float converts.
  uprez::test::expect_error([&] { params.get_int(2, 0); }, kContext, "parameter 2: is a float");
  EXPECT_FLOAT_EQ(params.get_float(0, 0), 32.f);
}

TEST(ParamDictTest, ReadsFloatsAsNcnnDoes) {
  // ncnn's own float parser (integer part + fraction, then a power of ten) rounded to float.
  const ParamDict params = parse({"0=1.000000e-01", "1=3.3333334e-01", "2=-2.500000e+00", "3=6.25e-02"});
  EXPECT_EQ(params.get_float(0, 0), 0.1f);
  EXPECT_EQ(params.get_float(1, 0), 0.33333334f);
  EXPECT_EQ(params.get_float(2, 0), -2.5f);
  EXPECT_EQ(params.get_float(3, 0), 0.0625f);
  // Absurd exponents end as infinity or zero, quickly.
  const ParamDict extremes = parse({"0=1e99999999999999", "1=1e-99999999999999"});
  EXPECT_EQ(extremes.get_float(0, 0), std::numeric_limits<float>::infinity());
  EXPECT_EQ(extremes.get_float(1, 1), 0.f);
}

TEST(ParamDictTest, ReadsNewStyleArrays) {
  const ParamDict params = parse({"0=1,2,3", "1=0.5,1,2", "2=4,"});
  EXPECT_EQ(params.get_ints(0), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(params.get_floats(1), (std::vector<float>{0.5f, 1.f, 2.f}));  // one float element makes a float array
  EXPECT_EQ(params.get_ints(2), std::vector<int>{4});                     // a trailing comma makes an array
  EXPECT_EQ(params.get_floats(0), (std::vector<float>{1.f, 2.f, 3.f}));
  uprez::test::expect_error([&] { params.get_ints(1); }, kContext, "parameter 1: holds floats");
  uprez::test::expect_error([&] { params.get_int(0, 0); }, kContext, "parameter 0: is an array");
  expect_error([&] { params.get_float(2, 0); }, kContext, "parameter 2: is an array");
}

TEST(ParamDictTest, ReadsOldStyleArrays) {
  // -23300 - id = count, elements
  const ParamDict params = parse({"-23309=3,1,2,3", "-23310=2,1.000000e-01,2", "-23300=0", "-23301=1,5"});
  EXPECT_EQ(params.get_ints(9), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(params.get_floats(10), (std::vector<float>{0.1f, 2.f}));
  EXPECT_TRUE(params.has(0));
  EXPECT_TRUE(params.get_ints(0).empty());
  EXPECT_EQ(params.get_ints(1), std::vector<int>{5});
  uprez::test::expect_error([&] { params.get_int(1, 0); }, kContext, "parameter 1: is an array");
}

TEST(ParamDictTest, ScalarsReadAsOneElementArraysAndAbsentIdsFallBack) {
  const ParamDict params = parse({"0=4", "1=0.25"});
  EXPECT_EQ(params.get_ints(0), std::vector<int>{4});
  EXPECT_EQ(params.get_floats(1), std::vector<float>{0.25f});
  EXPECT_FALSE(params.has(5));
  EXPECT_EQ(params.get_int(5, 17), 17);
  EXPECT_FLOAT_EQ(params.get_float(5, 2.5f), 2.5f);
  EXPECT_TRUE(params.get_ints(5).empty());
  EXPECT_TRUE(params.get_floats(5).empty());
}

TEST(ParamDictTest, LeavesOutShapeHintsAndFeatureMaskAndKeepsTheLastValue) {
  const ParamDict params = parse({"30=1,3,8,8,0", "31=1", "-23330=2,1,2", "0=1", "0=2"});
  EXPECT_FALSE(params.has(30));
  EXPECT_FALSE(params.has(31));
  EXPECT_EQ(params.get_int(0, 0), 2);
}

TEST(ParamDictTest, ValuesSetDirectly) {
  ParamDict params(kContext);
  params.set(3, ParamDict::Value{false, false, {7}});
  params.set(4, ParamDict::Value{true, true, {0.5, 1.5}});
  EXPECT_EQ(params.get_int(3, 0), 7);
  EXPECT_EQ(params.get_floats(4), (std::vector<float>{0.5f, 1.5f}));
  EXPECT_EQ(params.context(), kContext);
}

TEST(ParamDictTest, FailNamesTheLayerAndTheParameter) {
  const ParamDict params(kContext);
  uprez::test::expect_error([&] { params.fail(6, "must be positive"); }, kContext, ": parameter 6: must be positive");
}

TEST(ParamDictTest, RefusesMalformedPairsNamingThem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"x=1", "the id is not an integer"},
      {"=1", "the id is not an integer"},
      {"1", "expected id=value"},
      {"1=", "missing value"},
      {"32=1", "id 32 is out of range"},
      {"-1=1", "id -1 is out of range"},
      {"-23340=1,1", "id 40 is out of range"},
      {"1=1,,2", "empty value"},
      {"1=abc", "string values are not supported"},
      {"1=\"text\"", "string values are not supported"},
      {"1=1x", "malformed or out-of-range integer"},
      {"1=99999999999", "malformed or out-of-range integer"},
      {"1=1.5.5", "malformed float"},
      {"1=1e", "malformed float"},
      {"1=.", "malformed float"},
      {"-23300=3,1,2", "the array length is 3 but 2 elements follow"},
      {"-23300=1099511627776,1", "the array length is 1099511627776 but 1 elements follow"},
      {"-23300=x,1", "the array length 'x' is not an integer"},
  };
  for (const auto& [token, fragment] : cases) {
    SCOPED_TRACE(token);
    uprez::test::expect_error([&] { parse({"0=1", token}); }, kContext + ": parameter '" + token + "'", fragment);
  }
}

}  // namespace param_dict_test
}  // namespace uprez::ncnn
