#include <gtest/gtest.h>

#include <functional>

#include "core/error.h"
#include "support/error_message.h"
#include "uri/arguments.h"

namespace uprez {
namespace arguments_test {

const std::vector<ArgumentSpec> kSpecs = {
    {"model", ArgumentType::Path, "", "The model."},
    {"tile", ArgumentType::IntegerOrAuto, "512", "Tile size."},
    {"scale", ArgumentType::Float, "", "Scale.", true},
    {"force-tiling", ArgumentType::Boolean, "false", "Tile anyway."},
    {"overlap", ArgumentType::Integer, "32", "Overlap."},
};

UriArguments arguments_of(const std::string& uri) { return UriArguments("upscaler", kSpecs, parse_uri(uri)); }

TEST(UriArguments, GivenDefaultedAndOptionalValues) {
  const UriArguments args = arguments_of("upscaler;model=x.pth;tile=auto;force_tiling=TRUE");
  EXPECT_EQ(args.text("model"), "x.pth");
  EXPECT_TRUE(args.is_auto("tile"));
  EXPECT_TRUE(args.flag("force-tiling"));  // snake_case key, any case of true/false
  EXPECT_EQ(args.integer("overlap"), 32);
  EXPECT_FALSE(args.is_set("scale"));
  EXPECT_TRUE(args.accepts("scale"));
  EXPECT_FALSE(args.accepts("device"));
  EXPECT_EQ(args.owner(), "upscaler");
  EXPECT_DOUBLE_EQ(arguments_of("u;model=x;scale=1.5").number("scale"), 1.5);
}

TEST(UriArguments, ErrorsNameTheOwnerAndTheArgument) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"u;model=x;bogus=1", "upscaler: unknown argument \"bogus\", valid arguments: force-tiling, model, overlap, "
                            "scale, tile"},
      {"u;tile=4", "upscaler: missing required argument \"model\""},
      {"u;model=x;tile=2;tile_=3", "unknown argument \"tile_\""},
      {"u;model=x;force-tiling=true;force_tiling=false", "upscaler: duplicate argument \"force-tiling\""},
      {"u;model=x;tile=big", "upscaler: argument \"tile\" must be an integer or \"auto\", got \"big\""},
      {"u;model=x;overlap=1.5", "upscaler: argument \"overlap\" must be an integer, got \"1.5\""},
      {"u;model=x;scale=two", "upscaler: argument \"scale\" must be a number, got \"two\""},
      {"u;model=x;force-tiling=yes", "upscaler: argument \"force-tiling\" must be true or false, got \"yes\""},
  };
  for (const auto& [uri, expected] : cases) {
    const std::string message = uprez::test::error_message_of([&] { arguments_of(uri); });
    EXPECT_NE(message.find(expected), std::string::npos) << uri << " -> " << message;
  }
  EXPECT_EQ(uprez::test::error_message_of([] { arguments_of("u;model=x").fail("tile", "is too small"); }),
            "upscaler: argument \"tile\" is too small");
}

TEST(UriArguments, TypeNamesForHelp) {
  EXPECT_STREQ(argument_type_name(ArgumentType::IntegerOrAuto), "int | auto");
  EXPECT_STREQ(argument_type_name(ArgumentType::Boolean), "bool");
}

}  // namespace arguments_test
}  // namespace uprez
