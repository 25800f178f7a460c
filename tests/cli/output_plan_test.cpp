#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "cli/output_plan.h"
#include "core/error.h"
#include "support/fixtures.h"

namespace uprez {
namespace output_plan_test {

namespace fs = std::filesystem;

std::string touch(const std::string& path) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << "x";
  return path;
}

TEST(OutputPlan, DefaultIsProcessedBesideInputAndNeverTheInput) {
  const std::string dir = test::temp_dir();
  const std::string a = touch(dir + "/a.png");
  for (bool overwrite : {false, true}) {
    const auto plan = plan_outputs({a}, {}, overwrite);
    EXPECT_EQ(plan[0].output, dir + "/a_processed_1.png");
  }
}

TEST(OutputPlan, ExistingOutputGetsDuplicateSuffixUnlessOverwrite) {
  const std::string dir = test::temp_dir();
  const std::string a = touch(dir + "/a.png");
  touch(dir + "/out.png");
  touch(dir + "/out_duplicate_1.png");
  EXPECT_EQ(plan_outputs({a}, {dir + "/out.png"}, false)[0].output, dir + "/out_duplicate_2.png");
  EXPECT_EQ(plan_outputs({a}, {dir + "/out.png"}, true)[0].output, dir + "/out.png");
}

TEST(OutputPlan, InputNamedAsOutputIsReplacedOnlyWithOverwrite) {
  const std::string dir = test::temp_dir();
  const std::string a = touch(dir + "/a.png");
  EXPECT_EQ(plan_outputs({a}, {a}, true)[0].output, a);
  EXPECT_EQ(plan_outputs({a}, {a}, false)[0].output, dir + "/a_processed_1.png");
}

TEST(OutputPlan, FolderOutputNumbersEachInput) {
  const std::string dir = test::temp_dir();
  const std::string a = touch(dir + "/in/a.png"), b = touch(dir + "/in/b.jpg");
  const auto plan = plan_outputs({a, b}, {dir + "/out/"}, false);
  EXPECT_EQ(plan[0].output, dir + "/out/a_processed_1.png");
  EXPECT_EQ(plan[1].output, dir + "/out/b_processed_2.jpg");
}

TEST(OutputPlan, CountMismatchAndBadExtensionAreErrors) {
  const std::string dir = test::temp_dir();
  const std::string a = touch(dir + "/a.png"), b = touch(dir + "/b.png");
  EXPECT_THROW(plan_outputs({a, b}, {dir + "/x.png"}, false), Error);
  EXPECT_THROW(plan_outputs({a}, {dir + "/x.xyz"}, false), Error);
}

TEST(OutputPlan, FolderInputsExpandToSortedImages) {
  const std::string dir = test::temp_dir();
  touch(dir + "/in/b.png");
  touch(dir + "/in/a.JPG");
  touch(dir + "/in/notes.txt");
  const auto files = expand_inputs({dir + "/in"});
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(fs::path(files[0]).filename(), "a.JPG");
  EXPECT_EQ(fs::path(files[1]).filename(), "b.png");
  EXPECT_THROW(expand_inputs({dir + "/missing.png"}), Error);
  fs::create_directories(dir + "/empty");
  EXPECT_THROW(expand_inputs({dir + "/empty"}), Error);
}

}  // namespace output_plan_test
}  // namespace uprez
