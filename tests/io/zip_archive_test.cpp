// ZipArchive: reading stored, deflated and zip64 entries, and refusing corrupt archives with an Error.
#include "io/zip_archive.h"

#include <gtest/gtest.h>

#include <random>

#include "io/mapped_file.h"
#include "model_file_builders.h"
#include "support/fixtures.h"

namespace uprez {
namespace zip_archive_test {

using test::expect_error;
using test::ZipBuilder;

std::string as_string(const ZipEntryData& data) {
  const ByteView bytes = data.bytes();
  return std::string(reinterpret_cast<const char*>(bytes.data), bytes.size);
}

const std::string kText = "The quick brown fox jumps over the lazy dog. The quick brown fox jumps again.";

std::string sample_archive(bool zip64) {
  return ZipBuilder().add("a/first", "hello").add("a/empty", "").add("a/text", kText, true).build(zip64);
}

class ZipArchiveTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = dir_ + "/" + name;
    test::write_file(path, bytes);
    return path;
  }
  // Opens `bytes` as an archive and reads every entry; any failure must be an Error naming the file.
  void expect_corrupt(const std::string& bytes, const std::string& fragment = "") {
    const std::string path = write("corrupt.zip", bytes);
    expect_error(
        [&] {
          MappedFile file(path);
          ZipArchive archive(file);
          for (const std::string& name : archive.entry_names()) archive.read(name);
        },
        path, fragment);
  }

  std::string dir_ = test::temp_dir();
};

class ZipArchiveFormatTest : public ZipArchiveTest, public ::testing::WithParamInterface<bool> {};

TEST_P(ZipArchiveFormatTest, ReadsStoredAndDeflatedEntriesInDirectoryOrder) {
  const std::string path = write("sample.zip", sample_archive(GetParam()));
  MappedFile file(path);
  ZipArchive archive(file);
  EXPECT_EQ(archive.entry_names(), (std::vector<std::string>{"a/first", "a/empty", "a/text"}));
  EXPECT_TRUE(archive.contains("a/text"));
  EXPECT_FALSE(archive.contains("a/missing"));
  EXPECT_EQ(archive.entry_size("a/text"), kText.size());
  EXPECT_EQ(as_string(archive.read("a/first")), "hello");
  EXPECT_EQ(as_string(archive.read("a/empty")), "");
  EXPECT_EQ(as_string(archive.read("a/text")), kText);
}

INSTANTIATE_TEST_SUITE_P(Zip32AndZip64, ZipArchiveFormatTest, ::testing::Bool());

TEST_F(ZipArchiveTest, StoredEntriesAreReadInPlace) {
  const std::string bytes = sample_archive(false);
  const std::string path = write("in_place.zip", bytes);
  MappedFile file(path);
  ZipArchive archive(file);
  const ByteView first = archive.read("a/first").bytes();
  EXPECT_GE(first.data, file.bytes().data);
  EXPECT_LE(first.data + first.size, file.bytes().data + file.size());
}

TEST_F(ZipArchiveTest, MissingEntryIsAnError) {
  const std::string path = write("sample.zip", sample_archive(false));
  MappedFile file(path);
  ZipArchive archive(file);
  expect_error([&] { archive.read("a/missing"); }, path, "no entry 'a/missing'");
  expect_error([&] { archive.entry_size("a/missing"); }, path, "no entry 'a/missing'");
}

TEST_F(ZipArchiveTest, NotAZipArchive) {
  expect_corrupt("", "too small");
  expect_corrupt(std::string(4096, 'x'), "no end-of-central-directory record");
}

TEST_F(ZipArchiveTest, TruncatedArchivesAreErrors) {
  for (const bool zip64 : {false, true}) {
    const std::string bytes = sample_archive(zip64);
    for (size_t length = 0; length < bytes.size(); ++length) expect_corrupt(bytes.substr(0, length));
  }
}

TEST_F(ZipArchiveTest, BogusCentralDirectoryFieldsAreErrors) {
  const std::string valid = sample_archive(false);
  const size_t end_record = valid.size() - 22;

  std::string huge_directory = valid;
  test::store_le(huge_directory, end_record + 12, 0x7fffffff, 4);
  expect_corrupt(huge_directory, "central directory");

  std::string directory_past_end = valid;
  test::store_le(directory_past_end, end_record + 16, valid.size(), 4);
  expect_corrupt(directory_past_end, "central directory");

  std::string too_many_entries = valid;
  test::store_le(too_many_entries, end_record + 8, 0xffff, 2);
  test::store_le(too_many_entries, end_record + 10, 0xffff, 2);
  expect_corrupt(too_many_entries, "claims 65535 entries");

  std::string split_archive = valid;
  test::store_le(split_archive, end_record + 4, 1, 2);
  expect_corrupt(split_archive, "multi-disk");

  const std::string zip64 = sample_archive(true);
  std::string bad_zip64_pointer = zip64;
  test::store_le(bad_zip64_pointer, zip64.size() - 22 - 20 + 8, 0xffffffffff, 8);
  expect_corrupt(bad_zip64_pointer, "zip64");
}

TEST_F(ZipArchiveTest, HugeEntrySizesAreErrors) {
  const std::string valid = sample_archive(false);
  const size_t first_header = valid.find("PK\x01\x02");
  ASSERT_NE(first_header, std::string::npos);

  std::string huge_stored = valid;
  test::store_le(huge_stored, first_header + 20, 0xfffffff0, 4);
  test::store_le(huge_stored, first_header + 24, 0xfffffff0, 4);
  expect_corrupt(huge_stored, "extends past the end of the file");

  std::string mismatched_stored = valid;
  test::store_le(mismatched_stored, first_header + 24, 6, 4);
  expect_corrupt(mismatched_stored, "different compressed and uncompressed sizes");

  const size_t deflated_header = valid.find("PK\x01\x02", valid.find("a/empty", first_header));
  std::string inflation_bomb = valid;
  test::store_le(inflation_bomb, deflated_header + 24, 0xfffffff0, 4);
  expect_corrupt(inflation_bomb, "more than DEFLATE can");

  std::string bad_local_offset = valid;
  test::store_le(bad_local_offset, first_header + 42, 3, 4);
  expect_corrupt(bad_local_offset, "no local header");
}

TEST_F(ZipArchiveTest, DamagedDeflateDataIsAnError) {
  std::string damaged = sample_archive(false);
  const size_t data = damaged.find("a/text") + 6;
  damaged[data + 3] = static_cast<char>(damaged[data + 3] ^ 0x55);
  expect_corrupt(damaged, "a/text");

  std::string wrong_crc = sample_archive(false);
  const size_t deflated_header = wrong_crc.find("PK\x01\x02", wrong_crc.find("a/empty", wrong_crc.find("PK\x01\x02")));
  test::store_le(wrong_crc, deflated_header + 16, 0x12345678, 4);
  expect_corrupt(wrong_crc, "CRC-32");
}

TEST_F(ZipArchiveTest, UnsupportedCompressionAndEncryptionAreErrors) {
  const std::string valid = sample_archive(false);
  const size_t first_header = valid.find("PK\x01\x02");

  std::string bzip2 = valid;
  test::store_le(bzip2, first_header + 10, 12, 2);
  expect_corrupt(bzip2, "compression method 12");

  std::string encrypted = valid;
  test::store_le(encrypted, first_header + 8, 1, 2);
  expect_corrupt(encrypted, "encrypted");
}

TEST_F(ZipArchiveTest, RandomCorruptionNeverCrashes) {
  const std::string valid = sample_archive(true);
  std::mt19937 random(1234);
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bytes = valid;
    const int flips = 1 + trial % 4;
    for (int i = 0; i < flips; ++i) bytes[random() % bytes.size()] = static_cast<char>(random());
    const std::string path = write("fuzz.zip", bytes);
    try {
      MappedFile file(path);
      ZipArchive archive(file);
      for (const std::string& name : archive.entry_names()) archive.read(name);
    } catch (const Error& error) {
      EXPECT_EQ(std::string(error.what()).rfind(path, 0), 0u) << error.what();
    }
  }
}

}  // namespace zip_archive_test
}  // namespace uprez
