// Reads .safetensors files: an 8-byte little-endian header length, a JSON header naming each tensor's dtype,
// shape and byte range, then the raw little-endian data, read in place (from a memory-mapped file, or bytes
// compiled into the program).
#pragma once

#include <functional>
#include <string>

#include "io/byte_reader.h"
#include "io/state_dict.h"

namespace uprez {

// True when `file` (a whole file's bytes) starts like a safetensors file: a header length that fits the file,
// followed by '{'.
bool looks_like_safetensors(ByteView file);

// All tensors of `file` (a whole file's bytes, e.g. a MappedFile's), in key order (as the safetensors library
// lists them), copied into CPU tensors of their stored dtype. "__metadata__" is ignored. Throws
// Error("<path>: ...") for a malformed header, an unsupported dtype, or a byte range that does not match its
// shape or lies outside the file. `copied` (optional) is told each tensor's bytes once they are copied (a mapped
// file then lets go of those pages, so that a large file is not held twice).
StateDict read_safetensors(ByteView file, const std::string& path,
                           const std::function<void(ByteView)>& copied = {});

}  // namespace uprez
