// GIF's 256-colour frames from RGB(A) frames through libavfilter's palettegen and paletteuse: a palette made for
// each frame (stats_mode=single, new=1), one index kept for transparency when the frames have alpha, and the
// chosen dithering.
#pragma once

#include <memory>
#include <string>

#include "media/filter_graph.h"

namespace uprez {

// Filters taking frames of `width` x `height` in `pixel_format` (AV_PIX_FMT_RGBA or RGB24) with times in
// `time_base` to 8-bit paletted frames. `dither`: paletteuse's dither mode (sierra2_4a, bayer, floyd_steinberg,
// none, ...). Throws Error.
std::unique_ptr<FilterGraph> gif_palette_filters(int width, int height, int pixel_format, AVRational time_base,
                                                 const std::string& dither);

}  // namespace uprez
