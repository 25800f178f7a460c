// TIFF codec via libtiff (first image of a file); libtiff's messages become the Error's text, never stderr.
#include <tiffio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <string>
#include <vector>

#include "core/error.h"
#include "image/codecs.h"
#include "image/image_limits.h"

// 8/16-bit unsigned gray, gray+alpha, RGB and RGBA in contiguous strips or tiles are read exactly (associated
// alpha un-premultiplied, the Orientation tag applied); every other layout libtiff understands (palette, YCbCr,
// CMYK, 1-bit, planar, ...) is read as 8-bit through TIFFRGBAImage (whose premultiplied alpha is undone).
// Written Deflate-compressed with a horizontal predictor at the image's channels and depth; ICC kept both ways.
namespace uprez::codec {
namespace tiff_codec {

struct TiffMessages {
  char error[256] = "";
};

int on_error(TIFF*, void* user, const char*, const char* format, va_list args) {
  auto* messages = static_cast<TiffMessages*>(user);
  if (!messages->error[0]) std::vsnprintf(messages->error, sizeof messages->error, format, args);
  return 1;  // handled: the global (stderr) handler is not called
}
int on_warning(TIFF*, void*, const char*, const char*, va_list) { return 1; }

// Opens with handlers that capture the first error and drop warnings, and libtiff's own allocation cap.
template <typename Open>
TIFF* open_tiff(TiffMessages& messages, Open open) {
  static const bool silenced = [] {  // for the rare messages libtiff emits without a handle
    TIFFSetErrorHandler(nullptr);
    TIFFSetWarningHandler(nullptr);
    return true;
  }();
  (void)silenced;
  TIFFOpenOptions* options = TIFFOpenOptionsAlloc();
  if (!options) throw Error("libtiff: out of memory");
  TIFFOpenOptionsSetErrorHandlerExtR(options, on_error, &messages);
  TIFFOpenOptionsSetWarningHandlerExtR(options, on_warning, nullptr);
  TIFFOpenOptionsSetMaxSingleMemAlloc(options, static_cast<tmsize_t>(kMaxImageBytes));
  TIFF* tiff = open(options);
  TIFFOpenOptionsFree(options);
  return tiff;
}

// Read-only client I/O over the file's bytes in memory.
struct MemoryFile {
  const uint8_t* data;
  uint64_t size;
  uint64_t pos = 0;
};
tmsize_t memory_read(thandle_t handle, void* buffer, tmsize_t count) {
  auto* f = static_cast<MemoryFile*>(handle);
  const uint64_t n = f->pos >= f->size ? 0 : std::min<uint64_t>(static_cast<uint64_t>(count), f->size - f->pos);
  std::memcpy(buffer, f->data + f->pos, n);
  f->pos += n;
  return static_cast<tmsize_t>(n);
}
tmsize_t memory_write(thandle_t, void*, tmsize_t) { return -1; }
toff_t memory_seek(thandle_t handle, toff_t offset, int whence) {
  auto* f = static_cast<MemoryFile*>(handle);
  const uint64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? f->pos : f->size;
  return f->pos = base + offset;
}
int memory_close(thandle_t) { return 0; }
toff_t memory_size(thandle_t handle) { return static_cast<MemoryFile*>(handle)->size; }
int memory_map(thandle_t, void**, toff_t*) { return 0; }
void memory_unmap(thandle_t, void*, toff_t) {}

[[noreturn]] void fail(const char* what, const TiffMessages& messages) {
  throw Error(std::string(what) + (messages.error[0] ? std::string(": ") + messages.error : std::string()));
}

template <typename T>
T field(TIFF* tiff, uint32_t tag, T fallback) {
  T value = fallback;
  return TIFFGetFieldDefaulted(tiff, tag, &value) ? value : fallback;
}

// Straight alpha from premultiplied ("associated") alpha, in place.
template <typename Sample>
void unpremultiply(Image& image) {
  const uint32_t max = sizeof(Sample) == 1 ? 255 : 65535;
  uint8_t* data = image.data.data();
  auto load = [data](size_t i) {
    Sample v;
    std::memcpy(&v, data + i * sizeof(Sample), sizeof(Sample));
    return uint32_t{v};
  };
  const size_t pixels = static_cast<size_t>(image.width) * image.height, n = image.channels;
  for (size_t i = 0; i < pixels; ++i) {
    const uint32_t a = load(i * n + n - 1);
    if (a == 0 || a == max) continue;
    for (size_t c = i * n; c < i * n + n - 1; ++c) {
      const Sample v = static_cast<Sample>(std::min<uint32_t>(max, (load(c) * max + a / 2) / a));
      std::memcpy(data + c * sizeof(Sample), &v, sizeof(Sample));
    }
  }
}

// Reads a contiguous 8/16-bit image whose samples map one to one onto `image`.
void read_direct(TIFF* tiff, Image& image, const TiffMessages& messages) {
  const size_t pixel_bytes = image.channels * image.sample_bytes();
  if (!TIFFIsTiled(tiff)) {
    for (int y = 0; y < image.height; ++y)
      if (TIFFReadScanline(tiff, image.row(y), static_cast<uint32_t>(y), 0) < 0) fail("invalid TIFF", messages);
    return;
  }
  const uint32_t tile_w = field<uint32_t>(tiff, TIFFTAG_TILEWIDTH, 0),
                 tile_h = field<uint32_t>(tiff, TIFFTAG_TILELENGTH, 0);
  const tmsize_t tile_size = TIFFTileSize(tiff);
  if (tile_w == 0 || tile_h == 0 || tile_size <= 0 ||
      static_cast<uint64_t>(tile_size) < uint64_t{tile_w} * tile_h * pixel_bytes)
    fail("invalid TIFF: bad tile size", messages);
  std::vector<uint8_t> tile(static_cast<size_t>(tile_size));
  for (uint32_t ty = 0; ty < static_cast<uint32_t>(image.height); ty += tile_h)
    for (uint32_t tx = 0; tx < static_cast<uint32_t>(image.width); tx += tile_w) {
      if (TIFFReadTile(tiff, tile.data(), tx, ty, 0, 0) < 0) fail("invalid TIFF", messages);
      const size_t bytes = std::min<size_t>(tile_w, image.width - tx) * pixel_bytes;
      for (uint32_t y = ty; y < std::min<uint32_t>(ty + tile_h, image.height); ++y)
        std::memcpy(image.row(static_cast<int>(y)) + tx * pixel_bytes, tile.data() + (y - ty) * tile_w * pixel_bytes,
                    bytes);
    }
}

// Everything else, as 8-bit through libtiff's RGBA interface, keeping the channels `image` was given.
void read_rgba(TIFF* tiff, Image& image, const TiffMessages& messages) {
  char why[1024] = "";
  if (!TIFFRGBAImageOK(tiff, why)) throw Error(std::string("unsupported TIFF: ") + why);
  std::vector<uint32_t> raster(static_cast<size_t>(image.width) * image.height);
  if (!TIFFReadRGBAImageOriented(tiff, image.width, image.height, raster.data(), ORIENTATION_TOPLEFT, 0))
    fail("invalid TIFF", messages);
  for (size_t i = 0; i < raster.size(); ++i) {
    const uint32_t p = raster[i];
    const uint8_t rgba[4] = {static_cast<uint8_t>(TIFFGetR(p)), static_cast<uint8_t>(TIFFGetG(p)),
                             static_cast<uint8_t>(TIFFGetB(p)), static_cast<uint8_t>(TIFFGetA(p))};
    uint8_t* out = image.data.data() + i * image.channels;
    if (image.channels <= 2) out[0] = rgba[0];
    else std::memcpy(out, rgba, 3);
    if (image.has_alpha()) out[image.channels - 1] = rgba[3];
  }
}

}  // namespace tiff_codec

Image decode_tiff(const uint8_t* data, size_t size) {
  tiff_codec::TiffMessages messages;
  tiff_codec::MemoryFile file{data, size};
  TIFF* tiff = tiff_codec::open_tiff(messages, [&](TIFFOpenOptions* options) {
    return TIFFClientOpenExt("input", "rm", &file, tiff_codec::memory_read, tiff_codec::memory_write, tiff_codec::memory_seek, tiff_codec::memory_close, tiff_codec::memory_size,
                             tiff_codec::memory_map, tiff_codec::memory_unmap, options);
  });
  if (!tiff) fail("invalid TIFF", messages);
  Cleanup close_tiff([tiff] { TIFFClose(tiff); });

  const uint32_t width = tiff_codec::field<uint32_t>(tiff, TIFFTAG_IMAGEWIDTH, 0),
                 height = tiff_codec::field<uint32_t>(tiff, TIFFTAG_IMAGELENGTH, 0);
  const uint16_t spp = tiff_codec::field<uint16_t>(tiff, TIFFTAG_SAMPLESPERPIXEL, 1),
                 bps = tiff_codec::field<uint16_t>(tiff, TIFFTAG_BITSPERSAMPLE, 1);
  const uint16_t planar = tiff_codec::field<uint16_t>(tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  const uint16_t format = tiff_codec::field<uint16_t>(tiff, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
  const uint16_t photometric =
      tiff_codec::field<uint16_t>(tiff, TIFFTAG_PHOTOMETRIC, spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
  uint16_t extra_count = 0;
  uint16_t* extra_types = nullptr;
  TIFFGetFieldDefaulted(tiff, TIFFTAG_EXTRASAMPLES, &extra_count, &extra_types);
  const bool gray = photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE;
  const bool alpha = extra_count > 0;
  const bool direct = (bps == 8 || bps == 16) && format == SAMPLEFORMAT_UINT && planar == PLANARCONFIG_CONTIG &&
                      ((photometric == PHOTOMETRIC_MINISBLACK && (spp == 1 || spp == 2)) ||
                       (photometric == PHOTOMETRIC_RGB && (spp == 3 || spp == 4)));
  const int channels = direct ? spp : (gray ? 1 : 3) + (alpha ? 1 : 0);
  const int depth = direct ? bps : 8;
  if (!image_shape_ok(width, height, channels, depth))
    throw Error("image size " + std::to_string(width) + "x" + std::to_string(height) + " is out of range");
  if (tiff_codec::field<uint16_t>(tiff, TIFFTAG_COMPRESSION, COMPRESSION_NONE) == COMPRESSION_NONE &&
      uint64_t{width} * height * spp * bps / 8 > size)
    throw Error("invalid TIFF: file is too small for its stated size of " + std::to_string(width) + "x" +
                std::to_string(height));

  Image image(static_cast<int>(width), static_cast<int>(height), channels, depth);
  uint32_t icc_size = 0;
  void* icc = nullptr;
  if (TIFFGetField(tiff, TIFFTAG_ICCPROFILE, &icc_size, &icc) && icc)
    image.icc_profile.assign(static_cast<const char*>(icc), icc_size);
  if (direct) tiff_codec::read_direct(tiff, image, messages);
  else tiff_codec::read_rgba(tiff, image, messages);
  // TIFFRGBAImage always hands back premultiplied colour; the direct path does for associated alpha.
  if (alpha && (!direct || (extra_types && extra_types[0] == EXTRASAMPLE_ASSOCALPHA))) {
    if (depth == 8) tiff_codec::unpremultiply<uint8_t>(image);
    else tiff_codec::unpremultiply<uint16_t>(image);
  }
  const int orientation = tiff_codec::field<uint16_t>(tiff, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
  if (!direct || orientation == ORIENTATION_TOPLEFT) return image;  // TIFFRGBAImage has oriented it already
  return apply_orientation(image, orientation);
}

void encode_tiff(const Image& image, const ImageWriteOptions&, std::FILE* out) {
  tiff_codec::TiffMessages messages;
  if (std::fflush(out) != 0) throw Error("write failed");
  const int fd = dup(fileno(out));
  if (fd < 0) throw Error("cannot write TIFF: out of file descriptors");
  const bool big = static_cast<uint64_t>(image.row_bytes()) * image.height > (uint64_t{1} << 31);
  TIFF* tiff = tiff_codec::open_tiff(
      messages, [&](TIFFOpenOptions* options) { return TIFFFdOpenExt(fd, "output", big ? "w8" : "w", options); });
  if (!tiff) {
    close(fd);
    fail("cannot write TIFF", messages);
  }
  Cleanup close_tiff([tiff] { TIFFClose(tiff); });  // also closes fd

  TIFFSetField(tiff, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(image.width));
  TIFFSetField(tiff, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(image.height));
  TIFFSetField(tiff, TIFFTAG_SAMPLESPERPIXEL, static_cast<uint16_t>(image.channels));
  TIFFSetField(tiff, TIFFTAG_BITSPERSAMPLE, static_cast<uint16_t>(image.bit_depth));
  TIFFSetField(tiff, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
  TIFFSetField(tiff, TIFFTAG_PHOTOMETRIC, image.color_channels() == 1 ? PHOTOMETRIC_MINISBLACK : PHOTOMETRIC_RGB);
  TIFFSetField(tiff, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(tiff, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
  TIFFSetField(tiff, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
  TIFFSetField(tiff, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
  TIFFSetField(tiff, TIFFTAG_ROWSPERSTRIP,
               static_cast<uint32_t>(std::max<size_t>(1, (size_t{1} << 18) / image.row_bytes())));
  if (image.has_alpha()) {
    const uint16_t kind = EXTRASAMPLE_UNASSALPHA;
    TIFFSetField(tiff, TIFFTAG_EXTRASAMPLES, 1, &kind);
  }
  if (!image.icc_profile.empty())
    TIFFSetField(tiff, TIFFTAG_ICCPROFILE, static_cast<uint32_t>(image.icc_profile.size()), image.icc_profile.data());
  std::vector<uint8_t> row(image.row_bytes());  // libtiff's predictor rewrites the row it is given
  for (int y = 0; y < image.height; ++y) {
    std::memcpy(row.data(), image.row(y), row.size());
    if (TIFFWriteScanline(tiff, row.data(), static_cast<uint32_t>(y), 0) < 0) fail("cannot write TIFF", messages);
  }
  if (!TIFFFlush(tiff)) fail("cannot write TIFF", messages);
}

}  // namespace uprez::codec
