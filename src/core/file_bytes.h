// Reading a whole file into memory, with a size cap checked before anything is read.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace uprez {

// The bytes of the regular file at `path`. Throws Error naming `path` for a missing, unreadable or non-regular
// file, or one larger than `max_bytes` (`what` says what the file was expected to be, e.g. "an image").
std::vector<uint8_t> read_file_bytes(const std::string& path, uint64_t max_bytes, const std::string& what);

}  // namespace uprez
