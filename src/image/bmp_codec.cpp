// BMP codec, parsed and written by hand (uncompressed files only, no ICC profile).
#include <string>
#include <vector>

#include "core/error.h"
#include "image/codecs.h"

// Reads 1/4/8-bit paletted (a gray palette gives a gray image), 24-bit, and 16/32-bit with default or BITFIELDS
// masks, bottom-up and top-down; plain 32-bit files whose fourth bytes are all zero have no alpha. Writes 8-bit
// gray-paletted (gray), 24-bit (RGB) or 32-bit BITMAPV4 with alpha (gray+alpha, RGBA); 16-bit is rounded to 8.
namespace uprez::codec {
namespace bmp_codec {

constexpr size_t kFileHeader = 14;

// One channel of a BITFIELDS pixel: where its bits are and how to scale them to 8 bits.
struct Field {
  uint32_t mask = 0;
  int shift = 0;
  uint32_t max = 0;
  explicit Field(uint32_t m) : mask(m) {
    if (!mask) return;
    while (!((mask >> shift) & 1)) ++shift;
    max = mask >> shift;
  }
  uint8_t get(uint32_t pixel, uint8_t absent) const {
    if (!mask) return absent;
    const uint64_t v = (pixel & mask) >> shift;
    return static_cast<uint8_t>((v * 255 + max / 2) / max);
  }
};

[[noreturn]] void fail(const std::string& why) { throw Error("invalid BMP: " + why); }

}  // namespace bmp_codec

Image decode_bmp(const uint8_t* data, size_t size) {
  if (size < bmp_codec::kFileHeader + 16) bmp_codec::fail("file is truncated");
  const uint32_t pixel_offset = load_u32(data + 10, true);
  const uint32_t header_size = load_u32(data + 14, true);
  const uint8_t* h = data + bmp_codec::kFileHeader;
  if (header_size != 12 && header_size < 40) bmp_codec::fail("unknown header size " + std::to_string(header_size));
  if (header_size > size - bmp_codec::kFileHeader) bmp_codec::fail("file is truncated");
  const bool core = header_size == 12;  // OS/2 BITMAPCOREHEADER: 16-bit sizes, 3-byte palette entries
  const int64_t width = core ? load_u16(h + 4, true) : static_cast<int32_t>(load_u32(h + 4, true));
  int64_t height = core ? load_u16(h + 6, true) : static_cast<int32_t>(load_u32(h + 8, true));
  const unsigned bpp = load_u16(h + (core ? 10 : 14), true);
  const uint32_t compression = core ? 0 : load_u32(h + 16, true);
  const bool top_down = height < 0;
  height = top_down ? -height : height;
  if (width < 1 || height < 1) bmp_codec::fail("bad dimensions");

  const bool paletted = bpp == 1 || bpp == 4 || bpp == 8;
  const bool bitfields = compression == 3 || compression == 6;
  if (!(compression == 0 && (paletted || bpp == 16 || bpp == 24 || bpp == 32)) &&
      !(bitfields && (bpp == 16 || bpp == 32)))
    bmp_codec::fail("unsupported format (" + std::to_string(bpp) + " bits per pixel, compression " + std::to_string(compression) +
         "); only uncompressed BMP is read");

  const uint64_t stride = (static_cast<uint64_t>(width) * bpp + 31) / 32 * 4;
  if (pixel_offset > size || stride * static_cast<uint64_t>(height) > size - pixel_offset)
    bmp_codec::fail("file is too small for its stated size of " + std::to_string(width) + "x" + std::to_string(height));

  // Masks: in the header from V2 (52 bytes) on, else right after a 40-byte header; defaults for BI_RGB.
  uint32_t masks[4] = {0, 0, 0, 0};
  if (bitfields) {
    const size_t at = bmp_codec::kFileHeader + 40, count = header_size >= 56 || compression == 6 ? 4 : 3;
    if (at + 4 * count > size) bmp_codec::fail("file is truncated");
    for (size_t i = 0; i < count; ++i) masks[i] = load_u32(data + at + 4 * i, true);
  } else if (bpp == 16) {
    masks[0] = 0x7C00, masks[1] = 0x03E0, masks[2] = 0x001F;
  } else if (bpp == 32) {
    masks[0] = 0xFF0000, masks[1] = 0xFF00, masks[2] = 0xFF, masks[3] = 0xFF000000;
  }

  // Palette: colours_used entries (all 2^bpp when zero or too many); a gray palette yields a gray image.
  std::vector<uint8_t> palette;  // 3 bytes (R, G, B) for each of the 256 possible indices; unused ones black
  bool gray = false;
  if (paletted) {
    const size_t entry = core ? 3 : 4, limit = size_t{1} << bpp;
    size_t count = core ? limit : load_u32(h + 32, true);
    if (count == 0 || count > limit) count = limit;
    const size_t at = bmp_codec::kFileHeader + header_size;
    if (at + count * entry > size) bmp_codec::fail("palette is truncated");
    palette.assign(3 * 256, 0);
    gray = true;
    for (size_t i = 0; i < count; ++i) {
      const uint8_t* e = data + at + i * entry;
      palette[3 * i] = e[2], palette[3 * i + 1] = e[1], palette[3 * i + 2] = e[0];
      gray = gray && e[0] == e[1] && e[1] == e[2];
    }
  }

  const bmp_codec::Field fields[4] = {bmp_codec::Field(masks[0]), bmp_codec::Field(masks[1]), bmp_codec::Field(masks[2]), bmp_codec::Field(masks[3])};
  const int channels = paletted ? (gray ? 1 : 3) : (bpp == 24 || !masks[3] ? 3 : 4);
  Image image(static_cast<int>(width), static_cast<int>(height), channels, 8);
  bool any_alpha = false;
  for (int y = 0; y < image.height; ++y) {
    const uint8_t* in = data + pixel_offset + stride * static_cast<uint64_t>(top_down ? y : image.height - 1 - y);
    uint8_t* out = image.row(y);
    for (int x = 0; x < image.width; ++x, out += channels) {
      if (paletted) {
        const unsigned bit = static_cast<unsigned>(x) * bpp;
        const unsigned index = (in[bit / 8] >> (8 - bpp - bit % 8)) & ((1u << bpp) - 1);
        for (int c = 0; c < channels; ++c) out[c] = palette[3 * index + c];
      } else if (bpp == 24) {
        const uint8_t* p = in + 3 * x;
        out[0] = p[2], out[1] = p[1], out[2] = p[0];
      } else {
        const uint32_t pixel = bpp == 16 ? load_u16(in + 2 * x, true) : load_u32(in + 4 * x, true);
        for (int c = 0; c < channels; ++c) out[c] = fields[c].get(pixel, 255);
        any_alpha = any_alpha || (channels == 4 && out[3] != 0);
      }
    }
  }
  // Plain 32-bit BI_RGB files usually leave the fourth byte zero: an all-zero alpha there is padding, not
  // transparency. An explicit alpha mask is always trusted.
  if (channels == 4 && !any_alpha && !bitfields) {
    Image rgb;
    with_layout(image, 3, 8, rgb);
    return rgb;
  }
  return image;
}

namespace bmp_codec {

void store_le16(std::vector<uint8_t>& b, size_t at, uint32_t v) { b[at] = v & 0xFF, b[at + 1] = (v >> 8) & 0xFF; }
void store_le32(std::vector<uint8_t>& b, size_t at, uint32_t v) {
  store_le16(b, at, v & 0xFFFF);
  store_le16(b, at + 2, v >> 16);
}

}  // namespace bmp_codec

void encode_bmp(const Image& image, const ImageWriteOptions&, std::FILE* out) {
  Image storage;
  const int channels = image.channels == 1 ? 1 : image.has_alpha() ? 4 : 3;
  const Image& source = with_layout(image, channels, 8, storage);
  const uint32_t bpp = 8 * channels, header_size = channels == 4 ? 108 : 40, palette_size = channels == 1 ? 1024 : 0;
  const uint64_t stride = (uint64_t{static_cast<uint32_t>(source.width)} * bpp + 31) / 32 * 4;
  const uint64_t offset = bmp_codec::kFileHeader + header_size + palette_size, pixel_bytes = stride * source.height;
  if (offset + pixel_bytes > UINT32_MAX) throw Error("cannot write BMP: image too large for the format (4 GiB)");

  std::vector<uint8_t> head(offset, 0);
  head[0] = 'B', head[1] = 'M';
  bmp_codec::store_le32(head, 2, static_cast<uint32_t>(offset + pixel_bytes));
  bmp_codec::store_le32(head, 10, static_cast<uint32_t>(offset));
  bmp_codec::store_le32(head, 14, header_size);
  bmp_codec::store_le32(head, 18, static_cast<uint32_t>(source.width));
  bmp_codec::store_le32(head, 22, static_cast<uint32_t>(source.height));  // positive: bottom-up rows
  bmp_codec::store_le16(head, 26, 1);                                     // planes
  bmp_codec::store_le16(head, 28, bpp);
  bmp_codec::store_le32(head, 30, channels == 4 ? 3 : 0);  // BI_BITFIELDS : BI_RGB
  bmp_codec::store_le32(head, 34, static_cast<uint32_t>(pixel_bytes));
  bmp_codec::store_le32(head, 38, 2835), bmp_codec::store_le32(head, 42, 2835);  // 72 dpi
  if (channels == 1) {
    bmp_codec::store_le32(head, 46, 256);
    for (uint32_t i = 0; i < 256; ++i) bmp_codec::store_le32(head, bmp_codec::kFileHeader + header_size + 4 * i, i * 0x010101);
  } else if (channels == 4) {
    bmp_codec::store_le32(head, 54, 0x00FF0000), bmp_codec::store_le32(head, 58, 0x0000FF00), bmp_codec::store_le32(head, 62, 0x000000FF);
    bmp_codec::store_le32(head, 66, 0xFF000000);
    bmp_codec::store_le32(head, 70, 0x73524742);  // 'sRGB' colour space
  }
  write_bytes(out, head.data(), head.size());

  std::vector<uint8_t> row(stride, 0);
  for (int y = source.height - 1; y >= 0; --y) {
    const uint8_t* in = source.row(y);
    for (int x = 0; x < source.width; ++x, in += channels) {
      uint8_t* p = row.data() + static_cast<size_t>(x) * channels;
      if (channels == 1) {
        p[0] = in[0];
      } else {
        p[0] = in[2], p[1] = in[1], p[2] = in[0];
        if (channels == 4) p[3] = in[3];
      }
    }
    write_bytes(out, row.data(), row.size());
  }
}

}  // namespace uprez::codec
