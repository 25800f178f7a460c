// WebP codec via libwebp: still images and the first frame of animations, ICC profiles via demux/mux.
#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include <string>

#include "core/error.h"
#include "image/codecs.h"

// Reads 8-bit RGB, or RGBA when the file has alpha. Writes lossy (at the given quality) or lossless 8-bit RGB/RGBA
// (gray is replicated, 16-bit rounded to 8).
namespace uprez::codec {
namespace webp_codec {

const char* status_text(VP8StatusCode status) {
  switch (status) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "file is truncated";
    default: return "corrupt bitstream";
  }
}

}  // namespace webp_codec

Image decode_webp(const uint8_t* data, size_t size) {
  const WebPData bitstream{data, size};
  WebPDemuxer* demux = WebPDemux(&bitstream);  // rejects truncated files too
  if (!demux) throw Error("invalid WebP: malformed or truncated file");
  Cleanup free_demux([demux] { WebPDemuxDelete(demux); });
  WebPIterator frame;
  if (!WebPDemuxGetFrame(demux, 1, &frame)) throw Error("invalid WebP: no image frame");
  Cleanup free_frame([&frame] { WebPDemuxReleaseIterator(&frame); });

  const uint32_t flags = WebPDemuxGetI(demux, WEBP_FF_FORMAT_FLAGS);
  const int width = static_cast<int>(WebPDemuxGetI(demux, WEBP_FF_CANVAS_WIDTH));
  const int height = static_cast<int>(WebPDemuxGetI(demux, WEBP_FF_CANVAS_HEIGHT));
  // A frame smaller than the canvas leaves the rest transparent (libwebp's animation encoder does not always set
  // the alpha flag then).
  const bool covers_canvas = frame.x_offset == 0 && frame.y_offset == 0 && frame.width == width && frame.height == height;
  const bool alpha = (flags & ALPHA_FLAG) || frame.has_alpha || !covers_canvas;
  Image image(width, height, alpha ? 4 : 3, 8);  // validates the canvas size before any pixel allocation
  if (frame.x_offset < 0 || frame.y_offset < 0 || frame.width < 1 || frame.height < 1 ||
      frame.x_offset + frame.width > width || frame.y_offset + frame.height > height)
    throw Error("invalid WebP: frame lies outside the canvas");

  // The first frame is decoded straight into its place on the (transparent) canvas.
  WebPDecoderConfig config;
  if (!WebPInitDecoderConfig(&config)) throw Error("libwebp version mismatch");
  config.output.colorspace = alpha ? MODE_RGBA : MODE_RGB;
  config.output.is_external_memory = 1;
  config.output.u.RGBA.rgba = image.row(frame.y_offset) + static_cast<size_t>(frame.x_offset) * image.channels;
  config.output.u.RGBA.stride = static_cast<int>(image.row_bytes());
  config.output.u.RGBA.size = image.data.size() - (config.output.u.RGBA.rgba - image.data.data());
  const VP8StatusCode status = WebPDecode(frame.fragment.bytes, frame.fragment.size, &config);
  WebPFreeDecBuffer(&config.output);
  if (status != VP8_STATUS_OK) throw Error(std::string("invalid WebP: ") + webp_codec::status_text(status));

  WebPChunkIterator chunk;
  if ((flags & ICCP_FLAG) && WebPDemuxGetChunk(demux, "ICCP", 1, &chunk)) {
    image.icc_profile.assign(reinterpret_cast<const char*>(chunk.chunk.bytes), chunk.chunk.size);
    WebPDemuxReleaseChunkIterator(&chunk);
  }
  return image;
}

void encode_webp(const Image& image, const ImageWriteOptions& options, std::FILE* out) {
  if (image.width > WEBP_MAX_DIMENSION || image.height > WEBP_MAX_DIMENSION)
    throw Error("cannot write WebP: " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                " exceeds the format's limit of " + std::to_string(WEBP_MAX_DIMENSION) + " pixels per side");
  Image storage;
  const Image& source = with_layout(image, image.has_alpha() ? 4 : 3, 8, storage);

  WebPConfig config;
  if (!WebPConfigInit(&config)) throw Error("libwebp version mismatch");
  if (options.lossless) {
    config.lossless = 1;
    config.exact = 1;  // keep the colour under fully transparent pixels
  } else {
    config.quality = static_cast<float>(options.quality);
  }

  WebPPicture picture;
  if (!WebPPictureInit(&picture)) throw Error("libwebp version mismatch");
  Cleanup free_picture([&picture] { WebPPictureFree(&picture); });
  picture.width = source.width;
  picture.height = source.height;
  picture.use_argb = options.lossless ? 1 : 0;
  const int stride = static_cast<int>(source.row_bytes());
  const int imported = source.channels == 4 ? WebPPictureImportRGBA(&picture, source.data.data(), stride)
                                            : WebPPictureImportRGB(&picture, source.data.data(), stride);
  if (!imported) throw Error("cannot write WebP: out of memory");

  WebPMemoryWriter writer;
  WebPMemoryWriterInit(&writer);
  Cleanup free_writer([&writer] { WebPMemoryWriterClear(&writer); });
  picture.writer = WebPMemoryWrite;
  picture.custom_ptr = &writer;
  if (!WebPEncode(&config, &picture))
    throw Error("cannot write WebP: encoder error " + std::to_string(static_cast<int>(picture.error_code)));

  if (source.icc_profile.empty()) return write_bytes(out, writer.mem, writer.size);
  const WebPData encoded{writer.mem, writer.size};
  const WebPData icc{reinterpret_cast<const uint8_t*>(source.icc_profile.data()), source.icc_profile.size()};
  WebPMux* mux = WebPMuxCreate(&encoded, 0);
  if (!mux) throw Error("cannot write WebP: out of memory");
  Cleanup free_mux([mux] { WebPMuxDelete(mux); });
  WebPData assembled{nullptr, 0};
  Cleanup free_assembled([&assembled] { WebPDataClear(&assembled); });
  if (WebPMuxSetChunk(mux, "ICCP", &icc, 1) != WEBP_MUX_OK || WebPMuxAssemble(mux, &assembled) != WEBP_MUX_OK)
    throw Error("cannot write WebP: cannot attach the ICC profile");
  write_bytes(out, assembled.bytes, assembled.size);
}

}  // namespace uprez::codec
