// read_image / write_image: format detection by magic bytes, format choice by extension, the atomic
// temporary-file-then-rename write, and the path prefix on every error message.
#include "image/image_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <new>
#include <random>
#include <vector>

#include "core/error.h"
#include "image/codecs.h"
#include "image/image_limits.h"

namespace uprez {
namespace {

struct Format {
  const char* name;
  const char* extensions[2];
  bool (*matches)(const uint8_t* bytes, size_t size);
  Image (*decode)(const uint8_t* data, size_t size);
  void (*encode)(const Image& image, const ImageWriteOptions& options, std::FILE* out);
};

bool starts_with(const uint8_t* bytes, size_t size, const char* magic, size_t length) {
  return size >= length && std::memcmp(bytes, magic, length) == 0;
}

const Format kFormats[] = {
    {"PNG",
     {".png", nullptr},
     [](const uint8_t* b, size_t n) { return starts_with(b, n, "\x89PNG\r\n\x1a\n", 8); },
     codec::decode_png,
     codec::encode_png},
    {"JPEG",
     {".jpg", ".jpeg"},
     [](const uint8_t* b, size_t n) { return starts_with(b, n, "\xFF\xD8\xFF", 3); },
     codec::decode_jpeg,
     codec::encode_jpeg},
    {"WebP",
     {".webp", nullptr},
     [](const uint8_t* b, size_t n) {
       return starts_with(b, n, "RIFF", 4) && n >= 12 && std::memcmp(b + 8, "WEBP", 4) == 0;
     },
     codec::decode_webp,
     codec::encode_webp},
    {"BMP",
     {".bmp", nullptr},
     [](const uint8_t* b, size_t n) { return starts_with(b, n, "BM", 2); },
     codec::decode_bmp,
     codec::encode_bmp},
    {"TIFF",
     {".tif", ".tiff"},
     [](const uint8_t* b, size_t n) {
       return starts_with(b, n, "II*\0", 4) || starts_with(b, n, "MM\0*", 4) ||  // classic TIFF
              starts_with(b, n, "II+\0", 4) || starts_with(b, n, "MM\0+", 4);    // BigTIFF
     },
     codec::decode_tiff,
     codec::encode_tiff},
};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

const Format* format_for_extension(const std::string& extension) {
  const std::string ext = lower(extension);
  for (const Format& format : kFormats)
    for (const char* known : format.extensions)
      if (known && ext == known) return &format;
  return nullptr;
}

std::string system_error() { return std::strerror(errno); }

// The whole file; files larger than any image uprez accepts could be are refused before reading.
std::vector<uint8_t> read_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(path + ": cannot open: " + system_error());
  codec::Cleanup close_fd([fd] { ::close(fd); });
  struct stat info;
  if (::fstat(fd, &info) != 0) throw Error(path + ": cannot read: " + system_error());
  if (!S_ISREG(info.st_mode)) throw Error(path + ": not a regular file");
  if (static_cast<uint64_t>(info.st_size) > 2 * kMaxImageBytes)
    throw Error(path + ": file is too large to be an image uprez can read");
  std::vector<uint8_t> bytes(static_cast<size_t>(info.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(path + ": cannot read: " + system_error());
    if (n == 0) break;  // the file shrank while being read
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

// Runs a codec step, turning its failures into Errors that start with the path.
template <typename Step>
auto with_path(const std::string& path, Step step) -> decltype(step()) {
  try {
    return step();
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  } catch (const std::bad_alloc&) {
    throw Error(path + ": out of memory");
  }
}

// Creates `<folder>/.<name>.uprez-tmp-XXXXXX` exclusively, with the usual permissions (0666 less the umask).
int create_temporary(const std::filesystem::path& target, std::string& temp_path) {
  std::random_device seed;
  std::mt19937_64 random(seed());
  const std::filesystem::path folder = target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  for (int attempt = 0; attempt < 100; ++attempt) {
    static const char kDigits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string suffix(6, '0');
    for (char& c : suffix) c = kDigits[random() % 36];
    temp_path = (folder / ("." + target.filename().string() + ".uprez-tmp-" + suffix)).string();
    const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST) return fd;
  }
  errno = EEXIST;
  return -1;
}

void check_image(const Image& image) {
  if (image.channels < 1 || image.channels > 4 || (image.bit_depth != 8 && image.bit_depth != 16) || image.width < 1 ||
      image.height < 1 || image.data.size() != image.row_bytes() * image.height)
    throw Error("invalid image (" + std::to_string(image.width) + "x" + std::to_string(image.height) + ", " +
                std::to_string(image.channels) + " channels, " + std::to_string(image.bit_depth) + " bits, " +
                std::to_string(image.data.size()) + " bytes of samples)");
}

}  // namespace

Image read_image(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  for (const Format& format : kFormats)
    if (format.matches(bytes.data(), bytes.size()))
      return with_path(path, [&] { return format.decode(bytes.data(), bytes.size()); });
  throw Error(path + ": not a PNG, JPEG, WebP, BMP or TIFF file");
}

void write_image(const Image& image, const std::string& path, const ImageWriteOptions& options) {
  const std::filesystem::path target(path);
  const Format* format = format_for_extension(target.extension().string());
  if (!format)
    throw Error(path + ": unknown image extension '" + target.extension().string() +
                "' (expected .png, .jpg, .jpeg, .webp, .bmp, .tif or .tiff)");
  with_path(path, [&] { check_image(image); });
  if (options.quality < 1 || options.quality > 100)
    throw Error(path + ": quality " + std::to_string(options.quality) + " is out of range (1-100)");

  std::string temp_path;
  const int fd = create_temporary(target, temp_path);
  if (fd < 0) throw Error(path + ": cannot create a temporary file beside it: " + system_error());
  std::FILE* out = ::fdopen(fd, "wb");
  if (!out) {
    ::close(fd);
    ::unlink(temp_path.c_str());
    throw Error(path + ": cannot write: " + system_error());
  }
  try {
    with_path(path, [&] {
      format->encode(image, options, out);
      if (std::fflush(out) != 0 || ::fsync(fd) != 0) throw Error("write failed: " + system_error());
    });
    struct stat existing;
    if (::stat(path.c_str(), &existing) == 0) ::fchmod(fd, existing.st_mode & 07777);  // keep the old permissions
  } catch (...) {
    std::fclose(out);
    ::unlink(temp_path.c_str());
    throw;
  }
  if (std::fclose(out) != 0) {
    const std::string why = system_error();
    ::unlink(temp_path.c_str());
    throw Error(path + ": write failed: " + why);
  }
  if (::rename(temp_path.c_str(), path.c_str()) != 0) {
    const std::string why = system_error();
    ::unlink(temp_path.c_str());
    throw Error(path + ": cannot replace the file: " + why);
  }
}

bool is_image_extension(const std::string& extension) { return format_for_extension(extension) != nullptr; }

}  // namespace uprez
