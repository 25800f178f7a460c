#include "support/fixtures.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

namespace fs = std::filesystem;

namespace uprez::test {

namespace fixtures {
std::string from_env(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value && *value ? value : fallback;
}

struct TempDirs {
  std::mutex mutex;
  std::vector<fs::path> paths;
  ~TempDirs() {
    std::error_code ec;
    for (const auto& p : paths) fs::remove_all(p, ec);
  }
};
TempDirs& temp_dirs() {
  static TempDirs dirs;
  return dirs;
}
}  // namespace fixtures

std::string fixtures_root() { return fixtures::from_env("UPREZ_FIXTURES", UPREZ_DEFAULT_FIXTURES); }
std::string models_root() { return fixtures::from_env("UPREZ_MODELS", UPREZ_DEFAULT_MODELS); }
std::string build_dir() { return UPREZ_BUILD_DIR; }
bool path_exists(const std::string& path) { return fs::exists(path); }

std::string temp_dir() {
  std::string pattern = (fs::temp_directory_path() / "uprez-test-XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (!mkdtemp(buffer.data())) throw std::runtime_error("mkdtemp failed");
  fixtures::TempDirs& dirs = fixtures::temp_dirs();
  std::lock_guard<std::mutex> lock(dirs.mutex);
  dirs.paths.emplace_back(buffer.data());
  return buffer.data();
}

}  // namespace uprez::test
