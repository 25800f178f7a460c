#include <gtest/gtest.h>

#include "core/error.h"
#include "uri/uri.h"

namespace uprez {
namespace uri_test {

TEST(Uri, NameOnly) {
  const auto uri = parse_uri("upscaler");
  EXPECT_EQ(uri.name, "upscaler");
  EXPECT_TRUE(uri.arguments.empty());
}

TEST(Uri, ArgumentsInOrderWithSpacesTrimmed) {
  const auto uri = parse_uri(" upscaler ; model = x.pth;tile=512 ;force-tiling=true");
  ASSERT_EQ(uri.arguments.size(), 3u);
  EXPECT_EQ(uri.arguments[0], std::make_pair(std::string("model"), std::string("x.pth")));
  EXPECT_EQ(uri.arguments[1].second, "512");
  EXPECT_EQ(uri.arguments[2].first, "force-tiling");
}

TEST(Uri, QuotedValuesKeepSemicolonsAndEquals) {
  const auto uri = parse_uri("upscaler;model=\"dir;with=odd/x.pth\";output-file='a;b.png'");
  EXPECT_EQ(uri.arguments[0].second, "dir;with=odd/x.pth");
  EXPECT_EQ(uri.arguments[1].second, "a;b.png");
}

TEST(Uri, EscapedQuoteInsideQuotes) {
  EXPECT_EQ(parse_uri(R"(p;k="a\"b")").arguments[0].second, "a\"b");
}

TEST(Uri, SyntaxErrors) {
  for (const char* bad : {"", "   ", ";model=x", "upscaler;", "upscaler;;tile=2", "upscaler;model",
                          "upscaler;model=", "upscaler;=x", "upscaler;tile=2;tile=4", "upscaler;model=\"x.pth",
                          "upscaler;model=\"x\"y"}) {
    EXPECT_THROW(parse_uri(bad), Error) << bad;
  }
}

TEST(Uri, ErrorNamesTheProblem) {
  try {
    parse_uri("upscaler;tile=2;tile=4");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate argument \"tile\""), std::string::npos) << e.what();
  }
}

}  // namespace uri_test
}  // namespace uprez
