// Reading and writing still images (PNG, JPEG, WebP, BMP, TIFF): the format is detected from the file's bytes
// on reading and chosen by the extension on writing; writes are atomic (temporary file, then rename).
#pragma once

#include <string>

#include "image/image.h"

namespace uprez {

// Decodes the file at `path`. The format comes from the file's contents, never its extension. Animated WebP
// yields its first frame. JPEGs are turned upright by their EXIF orientation. Throws Error naming `path` for a
// missing, unreadable, unsupported, corrupt or truncated file, or one larger than the limits in image_limits.h.
Image read_image(const std::string& path);

struct ImageWriteOptions {
  int quality = 95;       // JPEG and lossy WebP quality, 1-100
  bool lossless = false;  // WebP only: lossless instead of lossy (quality is then ignored)
};

// Encodes `image` in the format its extension names (.png .jpg .jpeg .webp .bmp .tif .tiff, any case). Writes a
// temporary file in the same folder and renames it over `path` only once complete: on failure the temporary file
// is removed and an existing file at `path` is left untouched. Formats that cannot hold the image as it is get
// the closest they can: JPEG stores 8-bit gray or RGB (alpha dropped, 16-bit rounded to 8); WebP and BMP store
// 8 bits (gray becomes RGB in WebP); BMP has no ICC profile, and PNG leaves out a profile libpng rejects
// (malformed, or for the other colour model). Throws Error naming `path`.
void write_image(const Image& image, const std::string& path, const ImageWriteOptions& options = {});

// Whether `extension` (with its dot, any case) is one write_image knows: .png .jpg .jpeg .webp .bmp .tif .tiff.
bool is_image_extension(const std::string& extension);

}  // namespace uprez
