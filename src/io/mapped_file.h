// A whole file mapped read-only into memory, so that readers can parse model files of any size in place
// without reading them into a buffer first.
#pragma once

#include <string>

#include "io/byte_reader.h"

namespace uprez {

class MappedFile {
 public:
  // Maps `path`; throws Error("<path>: ...") when it is missing, not a regular file or unreadable.
  // An empty file maps to an empty view.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  ByteView bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }
  // Lets the kernel drop the whole pages inside `range` (part of this file) from this process's memory: they are
  // read again from the file if touched. For ranges whose bytes have been copied elsewhere.
  void release(ByteView range) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace uprez
