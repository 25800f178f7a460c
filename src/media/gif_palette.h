// GIF's 256-colour frames from RGB(A) frames through libavfilter's palettegen and paletteuse: a palette made for
// each frame (stats_mode=single, new=1), one index kept for transparency when the frames have alpha, and the
// chosen dithering.
#pragma once

#include <memory>
#include <string>

extern "C" {
#include <libavutil/frame.h>
}

namespace uprez {

class GifPalette {
 public:
  // Frames of `width` x `height` in `pixel_format` (AV_PIX_FMT_RGBA or RGB24) with times in `time_base`.
  // `dither`: paletteuse's dither mode (sierra2_4a, bayer, floyd_steinberg, none, ...). Throws Error.
  GifPalette(int width, int height, int pixel_format, AVRational time_base, const std::string& dither);
  ~GifPalette();
  GifPalette(const GifPalette&) = delete;
  GifPalette& operator=(const GifPalette&) = delete;

  // Hands `frame` (nullptr: the end) to the filters.
  void push(AVFrame* frame);
  // The next 8-bit paletted frame, or false when none is ready; `out` is unreferenced first.
  bool pull(AVFrame* out);

 private:
  struct Graph;
  std::unique_ptr<Graph> graph_;
};

}  // namespace uprez
