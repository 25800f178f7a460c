#include "io/zip_archive.h"

// zlib declares its input pointers const only when asked to.
#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <limits>

#include "core/error.h"

namespace uprez {

namespace zip_archive {

constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndOfDirectorySignature = 0x06054b50;
constexpr uint32_t kZip64LocatorSignature = 0x07064b50;
constexpr uint32_t kZip64EndOfDirectorySignature = 0x06064b50;
constexpr size_t kLocalHeaderSize = 30;
constexpr size_t kCentralHeaderSize = 46;
constexpr size_t kEndOfDirectorySize = 22;
constexpr size_t kZip64LocatorSize = 20;
constexpr size_t kZip64EndOfDirectorySize = 56;
constexpr size_t kMaxCommentSize = 0xffff;
constexpr uint16_t kZip64ExtraFieldId = 0x0001;
constexpr uint32_t kZip64Marker = 0xffffffff;
constexpr uint16_t kEncryptedFlag = 0x0001;
constexpr uint16_t kMethodStored = 0;
constexpr uint16_t kMethodDeflated = 8;
// DEFLATE cannot expand data by more than about 1032:1; a larger claimed size is a corrupt header.
constexpr uint64_t kMaxDeflateRatio = 1032;
constexpr uint64_t kMaxDeflateSlack = 1024;
// zlib counts bytes in 32-bit fields, so larger entries are fed to it in chunks.
constexpr uint64_t kZlibChunk = std::numeric_limits<uInt>::max();

// Moves up to kZlibChunk bytes from the span (cursor, left) into zlib's (next, avail) pair.
template <typename Byte>
void feed_chunk(Byte*& cursor, uint64_t& left, Byte*& next, uInt& avail) {
  const uint64_t chunk = std::min(left, kZlibChunk);
  next = cursor;
  avail = static_cast<uInt>(chunk);
  cursor += chunk;
  left -= chunk;
}

// Ends a zlib inflate stream when leaving scope.
class InflateStream {
 public:
  InflateStream() = default;
  ~InflateStream() {
    if (initialized_) inflateEnd(&stream_);
  }
  InflateStream(const InflateStream&) = delete;
  InflateStream& operator=(const InflateStream&) = delete;
  // Raw DEFLATE, as zip entries hold it (no zlib header).
  bool init() { return initialized_ = inflateInit2(&stream_, -MAX_WBITS) == Z_OK; }
  z_stream& get() { return stream_; }

 private:
  z_stream stream_{};
  bool initialized_ = false;
};

}  // namespace zip_archive

ZipArchive::ZipArchive(const MappedFile& file) : file_(file) { index_central_directory(locate_central_directory()); }

void ZipArchive::fail(const std::string& what) const { throw Error(path() + ": " + what); }

ZipArchive::DirectoryLocation ZipArchive::locate_central_directory() const {
  const ByteView bytes = file_.bytes();
  if (bytes.size < zip_archive::kEndOfDirectorySize) fail("corrupt zip archive: too small to hold an end-of-central-directory record");
  // The end record sits at the end of the file, followed only by a comment of up to 64 KiB.
  const size_t last = bytes.size - zip_archive::kEndOfDirectorySize;
  const size_t first = last > zip_archive::kMaxCommentSize ? last - zip_archive::kMaxCommentSize : 0;
  size_t end_record = last + 1;
  for (size_t position = last + 1; position-- > first;) {
    const uint8_t* p = bytes.data + position;
    if (load_le32(p) == zip_archive::kEndOfDirectorySignature && position + zip_archive::kEndOfDirectorySize + load_le16(p + 20) <= bytes.size) {
      end_record = position;
      break;
    }
  }
  if (end_record > last) fail("corrupt zip archive: no end-of-central-directory record (truncated file?)");

  const uint8_t* p = bytes.data + end_record;
  uint64_t disk = load_le16(p + 4);
  uint64_t directory_disk = load_le16(p + 6);
  uint64_t entries_on_disk = load_le16(p + 8);
  DirectoryLocation directory{load_le16(p + 10), load_le32(p + 16), load_le32(p + 12)};

  const bool has_zip64_locator =
      end_record >= zip_archive::kZip64LocatorSize && load_le32(p - zip_archive::kZip64LocatorSize) == zip_archive::kZip64LocatorSignature;
  if (has_zip64_locator) {
    const uint64_t zip64_end = load_le64(p - zip_archive::kZip64LocatorSize + 8);
    if (!bytes.contains(zip64_end, zip_archive::kZip64EndOfDirectorySize) ||
        load_le32(bytes.data + zip64_end) != zip_archive::kZip64EndOfDirectorySignature)
      fail("corrupt zip archive: the zip64 end-of-central-directory record is missing or out of bounds");
    const uint8_t* z = bytes.data + zip64_end;
    disk = load_le32(z + 16);
    directory_disk = load_le32(z + 20);
    entries_on_disk = load_le64(z + 24);
    directory = {load_le64(z + 32), load_le64(z + 48), load_le64(z + 40)};
  }
  if (disk != 0 || directory_disk != 0 || entries_on_disk != directory.entry_count)
    fail("multi-disk (split) zip archives are not supported");
  if (!bytes.contains(directory.offset, directory.size))
    fail("corrupt zip archive: the central directory (" + std::to_string(directory.size) + " bytes at offset " +
         std::to_string(directory.offset) + ") lies outside the file (" + std::to_string(bytes.size) + " bytes)");
  if (directory.entry_count > directory.size / zip_archive::kCentralHeaderSize)
    fail("corrupt zip archive: the central directory claims " + std::to_string(directory.entry_count) +
         " entries but has room for at most " + std::to_string(directory.size / zip_archive::kCentralHeaderSize));
  return directory;
}

void ZipArchive::index_central_directory(const DirectoryLocation& directory) {
  const std::string context = path() + ": corrupt zip central directory";
  ByteReader reader(file_.bytes().slice(directory.offset, directory.size), context);
  names_.reserve(directory.entry_count);
  entries_.reserve(directory.entry_count);
  for (uint64_t i = 0; i < directory.entry_count; ++i) {
    if (reader.u32() != zip_archive::kCentralHeaderSignature)
      fail("corrupt zip archive: central directory entry " + std::to_string(i) + " has a bad signature");
    reader.bytes(4);  // versions made by / needed
    Entry entry;
    entry.flags = reader.u16();
    entry.method = reader.u16();
    reader.bytes(4);  // modification time and date
    entry.crc32 = reader.u32();
    entry.compressed_size = reader.u32();
    entry.uncompressed_size = reader.u32();
    const uint16_t name_length = reader.u16();
    const uint16_t extra_length = reader.u16();
    const uint16_t comment_length = reader.u16();
    reader.bytes(8);  // start disk, internal and external attributes
    uint64_t local_header_offset = reader.u32();
    std::string name = reader.string(name_length);
    const ByteView extra = reader.bytes(extra_length);
    reader.bytes(comment_length);

    // Sizes and offsets that do not fit 32 bits are in the zip64 extra field, in this order.
    ByteReader extra_fields(extra, context + " (entry '" + name + "')");
    while (extra_fields.remaining() >= 4) {
      const uint16_t id = extra_fields.u16();
      ByteReader field(extra_fields.bytes(extra_fields.u16()), context + " (zip64 field of '" + name + "')");
      if (id != zip_archive::kZip64ExtraFieldId) continue;
      if (entry.uncompressed_size == zip_archive::kZip64Marker) entry.uncompressed_size = field.u64();
      if (entry.compressed_size == zip_archive::kZip64Marker) entry.compressed_size = field.u64();
      if (local_header_offset == zip_archive::kZip64Marker) local_header_offset = field.u64();
    }
    entry.data_offset = locate_entry_data(name, local_header_offset, entry.compressed_size);
    if (index_.emplace(name, entries_.size()).second) {
      names_.push_back(std::move(name));
      entries_.push_back(entry);
    }
  }
}

uint64_t ZipArchive::locate_entry_data(const std::string& name, uint64_t local_header_offset,
                                       uint64_t compressed_size) const {
  const ByteView bytes = file_.bytes();
  if (!bytes.contains(local_header_offset, zip_archive::kLocalHeaderSize) ||
      load_le32(bytes.data + local_header_offset) != zip_archive::kLocalHeaderSignature)
    fail("corrupt zip archive: entry '" + name + "' has no local header at offset " +
         std::to_string(local_header_offset));
  // The local header's name and extra field may differ from the central directory's (PyTorch pads the extra
  // field to align the data), so the data starts after the local lengths.
  const uint8_t* header = bytes.data + local_header_offset;
  const uint64_t data_offset = local_header_offset + zip_archive::kLocalHeaderSize + load_le16(header + 26) + load_le16(header + 28);
  if (!bytes.contains(data_offset, compressed_size))
    fail("corrupt zip archive: entry '" + name + "' (" + std::to_string(compressed_size) + " bytes at offset " +
         std::to_string(data_offset) + ") extends past the end of the file (" + std::to_string(bytes.size) +
         " bytes)");
  return data_offset;
}

const ZipArchive::Entry& ZipArchive::entry(const std::string& name) const {
  auto it = index_.find(name);
  if (it == index_.end()) fail("the zip archive has no entry '" + name + "'");
  return entries_[it->second];
}

uint64_t ZipArchive::entry_size(const std::string& name) const { return entry(name).uncompressed_size; }

ZipEntryData ZipArchive::read(const std::string& name) const {
  const Entry& found = entry(name);
  if (found.flags & zip_archive::kEncryptedFlag) fail("zip entry '" + name + "' is encrypted");
  switch (found.method) {
    case zip_archive::kMethodStored:
      if (found.compressed_size != found.uncompressed_size)
        fail("corrupt zip archive: stored entry '" + name + "' has different compressed and uncompressed sizes");
      return ZipEntryData::in_place(file_.bytes().slice(found.data_offset, found.compressed_size));
    case zip_archive::kMethodDeflated:
      return ZipEntryData::owned(inflate(name, found));
    default:
      fail("zip entry '" + name + "' uses compression method " + std::to_string(found.method) +
           ", which uprez does not support (only stored and deflated entries)");
  }
}

std::vector<uint8_t> ZipArchive::inflate(const std::string& name, const Entry& found) const {
  if (found.uncompressed_size > found.compressed_size * zip_archive::kMaxDeflateRatio + zip_archive::kMaxDeflateSlack)
    fail("corrupt zip archive: entry '" + name + "' claims to inflate from " + std::to_string(found.compressed_size) +
         " to " + std::to_string(found.uncompressed_size) + " bytes, more than DEFLATE can");
  std::vector<uint8_t> output(found.uncompressed_size);
  zip_archive::InflateStream inflater;
  if (!inflater.init()) fail("cannot initialize zlib to inflate zip entry '" + name + "'");
  z_stream& stream = inflater.get();

  const uint8_t* input_cursor = file_.bytes().data + found.data_offset;
  uint64_t input_left = found.compressed_size;
  uint8_t* output_cursor = output.data();
  uint64_t output_left = output.size();
  int status = Z_OK;
  do {
    if (stream.avail_in == 0) zip_archive::feed_chunk(input_cursor, input_left, stream.next_in, stream.avail_in);
    if (stream.avail_out == 0) zip_archive::feed_chunk(output_cursor, output_left, stream.next_out, stream.avail_out);
    status = ::inflate(&stream, Z_NO_FLUSH);
  } while (status == Z_OK);
  if (status != Z_STREAM_END || stream.total_out != found.uncompressed_size || stream.avail_in != 0 || input_left != 0)
    fail("corrupt zip archive: the deflated data of entry '" + name + "' is damaged");
  if (crc32_z(0, output.data(), output.size()) != found.crc32)
    fail("corrupt zip archive: entry '" + name + "' fails its CRC-32 check");
  return output;
}

}  // namespace uprez
