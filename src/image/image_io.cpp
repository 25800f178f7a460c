// read_image / write_image: format detection by magic bytes, format choice by extension (written through an
// AtomicFile), and the path prefix on every error message.
#include "image/image_io.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <new>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_bytes.h"
#include "image/codecs.h"
#include "image/image_limits.h"

namespace uprez {
namespace image_io {

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

void check_image(const Image& image) {
  if (image.channels < 1 || image.channels > 4 || (image.bit_depth != 8 && image.bit_depth != 16) || image.width < 1 ||
      image.height < 1 || image.data.size() != image.row_bytes() * image.height)
    throw Error("invalid image (" + std::to_string(image.width) + "x" + std::to_string(image.height) + ", " +
                std::to_string(image.channels) + " channels, " + std::to_string(image.bit_depth) + " bits, " +
                std::to_string(image.data.size()) + " bytes of samples)");
}

}  // namespace image_io

Image read_image(const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, 2 * kMaxImageBytes, "an image");
  for (const image_io::Format& format : image_io::kFormats)
    if (format.matches(bytes.data(), bytes.size()))
      return image_io::with_path(path, [&] { return format.decode(bytes.data(), bytes.size()); });
  throw Error(path + ": not a PNG, JPEG, WebP, BMP or TIFF file");
}

void write_image(const Image& image, const std::string& path, const ImageWriteOptions& options) {
  const std::filesystem::path target(path);
  const image_io::Format* format = image_io::format_for_extension(target.extension().string());
  if (!format)
    throw Error(path + ": unknown image extension '" + target.extension().string() +
                "' (expected .png, .jpg, .jpeg, .webp, .bmp, .tif or .tiff)");
  image_io::with_path(path, [&] { image_io::check_image(image); });
  if (options.quality < 1 || options.quality > 100)
    throw Error(path + ": quality " + std::to_string(options.quality) + " is out of range (1-100)");

  AtomicFile file(path);
  image_io::with_path(path, [&] { format->encode(image, options, file.stream()); });
  file.commit();
}

bool is_image_extension(const std::string& extension) { return image_io::format_for_extension(extension) != nullptr; }

}  // namespace uprez
