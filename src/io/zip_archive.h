// Read-only access to the entries of a zip archive (the container of torch.save files): the central
// directory is indexed once, stored entries are read in place from the memory-mapped file, deflated ones
// are inflated with zlib. Every structure is bounds-checked, so a corrupt archive is an Error, never a crash.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/byte_reader.h"
#include "io/mapped_file.h"

namespace uprez {

// The uncompressed bytes of one entry: a view into the mapped file for a stored entry, or an owned buffer
// for a deflated one.
class ZipEntryData {
 public:
  static ZipEntryData in_place(ByteView bytes) { return ZipEntryData(bytes, {}, false); }
  static ZipEntryData owned(std::vector<uint8_t> bytes) { return ZipEntryData({}, std::move(bytes), true); }

  ByteView bytes() const { return is_owned_ ? ByteView{owned_.data(), owned_.size()} : in_place_; }

 private:
  ZipEntryData(ByteView in_place, std::vector<uint8_t> owned, bool is_owned)
      : in_place_(in_place), owned_(std::move(owned)), is_owned_(is_owned) {}

  ByteView in_place_;
  std::vector<uint8_t> owned_;
  bool is_owned_;
};

class ZipArchive {
 public:
  // Indexes the archive in `file`, which must outlive the archive and any data read from it.
  // Throws Error("<path>: ...") when the file is not a zip archive or its structure is corrupt.
  explicit ZipArchive(const MappedFile& file);

  const std::string& path() const { return file_.path(); }
  // Entry names in central-directory order. A name listed twice refers to its first entry.
  const std::vector<std::string>& entry_names() const { return names_; }
  bool contains(const std::string& name) const { return index_.count(name) != 0; }
  // Uncompressed size of `name`; throws Error when it is absent.
  uint64_t entry_size(const std::string& name) const;
  // The uncompressed bytes of `name`; throws Error when it is absent, compressed with an unsupported method,
  // encrypted or corrupt.
  ZipEntryData read(const std::string& name) const;

 private:
  struct Entry {
    uint16_t flags = 0;
    uint16_t method = 0;
    uint32_t crc32 = 0;
    uint64_t compressed_size = 0;
    uint64_t uncompressed_size = 0;
    uint64_t data_offset = 0;
  };

  struct DirectoryLocation {
    uint64_t entry_count = 0;
    uint64_t offset = 0;
    uint64_t size = 0;
  };

  DirectoryLocation locate_central_directory() const;
  void index_central_directory(const DirectoryLocation& directory);
  uint64_t locate_entry_data(const std::string& name, uint64_t local_header_offset, uint64_t compressed_size) const;
  const Entry& entry(const std::string& name) const;
  std::vector<uint8_t> inflate(const std::string& name, const Entry& entry) const;
  [[noreturn]] void fail(const std::string& what) const;

  const MappedFile& file_;
  std::vector<std::string> names_;
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace uprez
