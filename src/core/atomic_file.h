// Writing a file so that it appears complete or not at all: the content goes to a temporary file beside the target
// (`.<name>.uprez-tmp-XXXXXX`), which replaces the target only when commit() succeeds; until then an existing file
// at the target is untouched, and a failure or an early destruction removes the temporary file.
#pragma once

#include <cstdio>
#include <string>

namespace uprez {

class AtomicFile {
 public:
  // Creates the temporary file; throws Error naming `target` when it cannot.
  explicit AtomicFile(std::string target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& target() const { return target_; }
  // Where the content goes (for libraries that open files by name).
  const std::string& temporary_path() const { return temporary_path_; }
  // The open temporary file, for writers that take a stdio stream.
  std::FILE* stream() const { return stream_; }

  // Flushes and syncs the content, gives it the permissions of the file it replaces, and renames it over the
  // target. Throws Error naming the target on failure (the temporary file is then removed).
  void commit();

 private:
  void discard();

  std::string target_;
  std::string temporary_path_;
  std::FILE* stream_ = nullptr;
};

}  // namespace uprez
