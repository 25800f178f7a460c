#include "core/output_path.h"

#include <filesystem>

#include "core/error.h"

namespace fs = std::filesystem;

namespace uprez {

std::string avoid_existing_path(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return path;
  const fs::path original(path);
  const std::string stem = (original.parent_path() / original.stem()).string();
  const std::string extension = original.extension().string();
  for (int k = 1;; ++k) {
    const std::string candidate = stem + "_duplicate_" + std::to_string(k) + extension;
    if (!fs::exists(candidate, ec)) return candidate;
  }
}

void create_parent_folders(const std::string& path) {
  const fs::path parent = fs::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw Error(parent.string() + ": cannot create folder: " + ec.message());
}

}  // namespace uprez
