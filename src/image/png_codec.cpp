// PNG codec via libpng: every colour type and bit depth in, the image's own channels and depth out.
#include <png.h>

#include <csetjmp>
#include <string>
#include <vector>

#include "core/error.h"
#include "image/codecs.h"
#include "image/image_limits.h"

// Reading expands palettes and tRNS to RGB(A)/gray+alpha and widens 1/2/4-bit gray to 8; 16-bit stays 16. iCCP is
// kept both ways, except a profile libpng rejects (malformed, or for the other colour model), which is left out.
// libpng reports errors by longjmp: the setjmp frames hold no C++ objects, so nothing leaks.
namespace uprez::codec {
namespace png_codec {

struct PngIo {
  const uint8_t* data = nullptr;  // reading: the whole file
  size_t size = 0;
  size_t pos = 0;
  char message[256] = "";  // the first libpng error
};

void on_error(png_structp png, png_const_charp message) {
  auto* io = static_cast<PngIo*>(png_get_error_ptr(png));
  if (!io->message[0]) std::snprintf(io->message, sizeof io->message, "%s", message);
  png_longjmp(png, 1);
}
void on_warning(png_structp, png_const_charp) {}

void read_from_memory(png_structp png, png_bytep out, png_size_t length) {
  auto* io = static_cast<PngIo*>(png_get_io_ptr(png));
  if (length > io->size - io->pos) png_error(png, "file is truncated");
  std::memcpy(out, io->data + io->pos, length);
  io->pos += length;
}

// Owns the libpng structures; destroys them however decoding ends.
struct PngHandle {
  png_structp png = nullptr;
  png_infop info = nullptr;
  bool writing;
  explicit PngHandle(bool write, PngIo& io) : writing(write) {
    png = write ? png_create_write_struct(PNG_LIBPNG_VER_STRING, &io, on_error, on_warning)
                : png_create_read_struct(PNG_LIBPNG_VER_STRING, &io, on_error, on_warning);
    if (png) info = png_create_info_struct(png);
    if (!png || !info) throw Error("libpng: out of memory");
  }
  ~PngHandle() {
    if (writing) png_destroy_write_struct(&png, &info);
    else png_destroy_read_struct(&png, &info, nullptr);
  }
  PngHandle(const PngHandle&) = delete;
  PngHandle& operator=(const PngHandle&) = delete;
};

// Reads the header and sets up the transforms; fills the shape of the decoded image. False on a libpng error.
bool read_header(png_structp png, png_infop info, int& width, int& height, int& channels, int& depth, int& stored_bits,
                 const char*& icc, uint32_t& icc_size) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_user_limits(png, kMaxImageDimension, kMaxImageDimension);
  png_read_info(png, info);
  stored_bits = png_get_bit_depth(png, info) * png_get_channels(png, info);
  const int color_type = png_get_color_type(png, info);
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (png_get_bit_depth(png, info) == 16 && kLittleEndian) png_set_swap(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  width = static_cast<int>(png_get_image_width(png, info));
  height = static_cast<int>(png_get_image_height(png, info));
  channels = png_get_channels(png, info);
  depth = png_get_bit_depth(png, info);
  png_charp name;
  int compression;
  png_bytep profile;
  png_uint_32 profile_size;
  if (png_get_iCCP(png, info, &name, &compression, &profile, &profile_size)) {
    icc = reinterpret_cast<const char*>(profile);
    icc_size = profile_size;
  }
  return true;
}

bool read_rows(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  png_read_end(png, nullptr);
  return true;
}

std::vector<png_bytep> row_pointers(const Image& image) {
  std::vector<png_bytep> rows(image.height);
  for (int y = 0; y < image.height; ++y) rows[y] = const_cast<png_bytep>(image.row(y));
  return rows;
}

bool write_png(png_structp png, png_infop info, const Image& image, png_bytepp rows, std::FILE* out) {
  if (setjmp(png_jmpbuf(png))) return false;
  static const int kColorTypes[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                    PNG_COLOR_TYPE_RGB_ALPHA};
  png_init_io(png, out);
  png_set_benign_errors(png, 1);  // an ICC profile libpng rejects is left out instead of failing the write
  png_set_IHDR(png, info, image.width, image.height, image.bit_depth, kColorTypes[image.channels - 1],
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (!image.icc_profile.empty())
    png_set_iCCP(png, info, "ICC profile", PNG_COMPRESSION_TYPE_BASE,
                 reinterpret_cast<png_const_bytep>(image.icc_profile.data()),
                 static_cast<png_uint_32>(image.icc_profile.size()));
  png_write_info(png, info);
  if (image.bit_depth == 16 && kLittleEndian) png_set_swap(png);
  png_write_image(png, rows);
  png_write_end(png, info);
  return true;
}

}  // namespace png_codec

Image decode_png(const uint8_t* data, size_t size) {
  png_codec::PngIo io;
  io.data = data;
  io.size = size;
  png_codec::PngHandle handle(false, io);
  png_set_read_fn(handle.png, &io, png_codec::read_from_memory);
  int width = 0, height = 0, channels = 0, depth = 0, stored_bits = 0;
  const char* icc = nullptr;
  uint32_t icc_size = 0;
  if (!png_codec::read_header(handle.png, handle.info, width, height, channels, depth, stored_bits, icc, icc_size))
    throw Error(std::string("invalid PNG: ") + io.message);
  // Deflate expands data at most 1032:1, so a header promising far more pixel data than the file can hold is
  // rejected before the pixel memory is allocated.
  const uint64_t stored_bytes = ((uint64_t{static_cast<uint32_t>(width)} * stored_bits + 7) / 8 + 1) * height;
  if (stored_bytes > 1040 * uint64_t{size} + 4096)
    throw Error("invalid PNG: file is far too small for its stated size of " + std::to_string(width) + "x" +
                std::to_string(height));
  Image image(width, height, channels, depth);
  if (icc) image.icc_profile.assign(icc, icc_size);
  std::vector<png_bytep> rows = png_codec::row_pointers(image);
  if (!png_codec::read_rows(handle.png, rows.data())) throw Error(std::string("invalid PNG: ") + io.message);
  return image;
}

void encode_png(const Image& image, const ImageWriteOptions&, std::FILE* out) {
  png_codec::PngIo io;
  png_codec::PngHandle handle(true, io);
  std::vector<png_bytep> rows = png_codec::row_pointers(image);
  if (!png_codec::write_png(handle.png, handle.info, image, rows.data(), out))
    throw Error(std::string("cannot write PNG: ") + io.message);
}

}  // namespace uprez::codec
