// Where tests find the shared reference data, and how they say loudly that it is missing.
#pragma once

#include <string>

namespace uprez::test {

// $UPREZ_FIXTURES, else ../shared/fixtures beside the source tree.
std::string fixtures_root();
// $UPREZ_MODELS, else ../shared/models beside the source tree.
std::string models_root();
// The build tree (for the uprez program under test).
std::string build_dir();
// A fresh empty temporary folder, removed when the test program exits.
std::string temp_dir();

}  // namespace uprez::test

// Skips the current test with a loud message when `path` does not exist.
#define UPREZ_REQUIRE_PATH(path)                                                         \
  do {                                                                                   \
    if (!::uprez::test::path_exists(path))                                               \
      GTEST_SKIP() << "SKIPPED: reference data missing: " << (path);                     \
  } while (0)

namespace uprez::test {
bool path_exists(const std::string& path);
}
