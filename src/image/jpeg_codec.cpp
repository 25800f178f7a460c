// JPEG codec via libjpeg(-turbo), with EXIF orientation and ICC profiles.
#include <cstdio>
// clang-format off
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

#include <csetjmp>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.h"
#include "image/codecs.h"

// Reads 8-bit gray, YCbCr/RGB and CMYK/YCCK (converted naively to RGB, its profile dropped) and turns the pixels
// upright by the EXIF orientation. Writes 8-bit gray or RGB: 16-bit samples are rounded to 8 bits and alpha is
// dropped (JPEG has none); 4:4:4 chroma from quality 90 up. Truncated data is an error; damaged entropy data is
// tolerated like viewers do. libjpeg reports errors by longjmp: the setjmp frames hold no C++ objects.
namespace uprez::codec {
namespace jpeg_codec {

struct JpegErrors {
  jpeg_error_mgr manager;  // first member: libjpeg hands back a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = "";
};

[[noreturn]] void on_error_exit(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  cinfo->err->format_message(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings about damaged entropy data are tolerated (like every viewer does), but running out of data is not.
void on_message(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) on_error_exit(cinfo);
}

void install_errors(JpegErrors& errors) {
  jpeg_std_error(&errors.manager);
  errors.manager.error_exit = on_error_exit;
  errors.manager.emit_message = on_message;
}

struct Decompressor {
  jpeg_decompress_struct cinfo{};
  JpegErrors errors;
  bool created = false;
  ~Decompressor() {
    if (created) jpeg_destroy_decompress(&cinfo);
  }
};

struct Compressor {
  jpeg_compress_struct cinfo{};
  JpegErrors errors;
  bool created = false;
  ~Compressor() {
    if (created) jpeg_destroy_compress(&cinfo);
  }
};

bool read_header(Decompressor& d, const uint8_t* data, size_t size) {
  j_decompress_ptr cinfo = &d.cinfo;
  cinfo->err = &d.errors.manager;
  if (setjmp(d.errors.jump)) return false;
  jpeg_create_decompress(cinfo);
  d.created = true;
  jpeg_mem_src(cinfo, data, static_cast<unsigned long>(size));
  jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xFFFF);  // EXIF
  jpeg_save_markers(cinfo, JPEG_APP0 + 2, 0xFFFF);  // ICC profile chunks
  jpeg_read_header(cinfo, TRUE);
  switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE: cinfo->out_color_space = JCS_GRAYSCALE; break;
    case JCS_YCbCr:
    case JCS_RGB: cinfo->out_color_space = JCS_RGB; break;
    case JCS_CMYK:
    case JCS_YCCK: cinfo->out_color_space = JCS_CMYK; break;
    default: std::snprintf(d.errors.message, sizeof d.errors.message, "unsupported colour space"); return false;
  }
  return true;
}

// The ICC profile (malloc'ed by libjpeg, freed here); empty when absent or damaged.
bool read_icc(Decompressor& d, std::string& profile) {
  if (setjmp(d.errors.jump)) return false;
  JOCTET* icc = nullptr;
  unsigned int icc_size = 0;
  if (jpeg_read_icc_profile(&d.cinfo, &icc, &icc_size) && icc) profile.assign(reinterpret_cast<char*>(icc), icc_size);
  std::free(icc);
  return true;
}

// Decodes every scanline into `image`; CMYK scanlines go through `cmyk_row` and are converted to RGB.
bool read_pixels(Decompressor& d, Image& image, JSAMPROW cmyk_row) {
  j_decompress_ptr cinfo = &d.cinfo;
  if (setjmp(d.errors.jump)) return false;
  jpeg_start_decompress(cinfo);
  const bool inverted = cinfo->saw_Adobe_marker;  // Adobe CMYK stores 255 - ink
  while (cinfo->output_scanline < cinfo->output_height) {
    uint8_t* out = image.row(static_cast<int>(cinfo->output_scanline));
    JSAMPROW row = cmyk_row ? cmyk_row : out;
    jpeg_read_scanlines(cinfo, &row, 1);
    if (!cmyk_row) continue;
    for (int x = 0; x < image.width; ++x) {
      const JSAMPLE* p = cmyk_row + 4 * x;
      const unsigned k = inverted ? p[3] : 255 - p[3];
      for (int c = 0; c < 3; ++c)
        out[3 * x + c] = static_cast<uint8_t>(((inverted ? p[c] : 255 - p[c]) * k + 127) / 255);
    }
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

bool write_jpeg(Compressor& c, const Image& image, int quality, std::FILE* out) {
  j_compress_ptr cinfo = &c.cinfo;
  cinfo->err = &c.errors.manager;
  if (setjmp(c.errors.jump)) return false;
  jpeg_create_compress(cinfo);
  c.created = true;
  jpeg_stdio_dest(cinfo, out);
  cinfo->image_width = static_cast<JDIMENSION>(image.width);
  cinfo->image_height = static_cast<JDIMENSION>(image.height);
  cinfo->input_components = image.channels;
  cinfo->in_color_space = image.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(cinfo);
  jpeg_set_quality(cinfo, quality, TRUE);
  cinfo->optimize_coding = TRUE;
  if (quality >= 90 && image.channels == 3) cinfo->comp_info[0].h_samp_factor = cinfo->comp_info[0].v_samp_factor = 1;
  jpeg_start_compress(cinfo, TRUE);
  if (!image.icc_profile.empty())
    jpeg_write_icc_profile(cinfo, reinterpret_cast<const JOCTET*>(image.icc_profile.data()),
                           static_cast<unsigned>(image.icc_profile.size()));
  while (cinfo->next_scanline < cinfo->image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(image.row(static_cast<int>(cinfo->next_scanline)));
    jpeg_write_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_compress(cinfo);
  return true;
}

}  // namespace jpeg_codec

Image decode_jpeg(const uint8_t* data, size_t size) {
  jpeg_codec::Decompressor d;
  jpeg_codec::install_errors(d.errors);
  if (!jpeg_codec::read_header(d, data, size)) throw Error(std::string("invalid JPEG: ") + d.errors.message);
  const bool cmyk = d.cinfo.out_color_space == JCS_CMYK;
  Image image(static_cast<int>(d.cinfo.image_width), static_cast<int>(d.cinfo.image_height),
              d.cinfo.out_color_space == JCS_GRAYSCALE ? 1 : 3, 8);
  if (!cmyk && !jpeg_codec::read_icc(d, image.icc_profile)) throw Error(std::string("invalid JPEG: ") + d.errors.message);
  int orientation = 1;  // saved markers live only until decompression finishes
  for (jpeg_saved_marker_ptr m = d.cinfo.marker_list; m && orientation == 1; m = m->next)
    if (m->marker == JPEG_APP0 + 1) orientation = exif_orientation(m->data, m->data_length);
  std::vector<JSAMPLE> cmyk_row(cmyk ? 4 * static_cast<size_t>(image.width) : 0);
  if (!jpeg_codec::read_pixels(d, image, cmyk ? cmyk_row.data() : nullptr))
    throw Error(std::string("invalid JPEG: ") + d.errors.message);
  if (orientation == 1) return image;
  return apply_orientation(image, orientation);
}

void encode_jpeg(const Image& image, const ImageWriteOptions& options, std::FILE* out) {
  Image storage;
  const Image& source = with_layout(image, image.color_channels() == 1 ? 1 : 3, 8, storage);
  jpeg_codec::Compressor c;
  jpeg_codec::install_errors(c.errors);
  if (!jpeg_codec::write_jpeg(c, source, options.quality, out)) throw Error(std::string("cannot write JPEG: ") + c.errors.message);
}

}  // namespace uprez::codec
