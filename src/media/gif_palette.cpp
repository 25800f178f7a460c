#include "media/gif_palette.h"

extern "C" {
#include <libavutil/pixdesc.h>
}

namespace uprez {

std::unique_ptr<FilterGraph> gif_palette_filters(int width, int height, int pixel_format, AVRational time_base,
                                                 const std::string& dither) {
  const std::string source_args = "video_size=" + std::to_string(width) + "x" + std::to_string(height) +
                                  ":pix_fmt=" + av_get_pix_fmt_name(static_cast<AVPixelFormat>(pixel_format)) +
                                  ":time_base=" + std::to_string(time_base.num) + "/" + std::to_string(time_base.den) +
                                  ":pixel_aspect=1/1";
  const bool alpha = pixel_format == AV_PIX_FMT_RGBA;
  const std::string filters =
      std::string("split[a][b];[a]palettegen=stats_mode=single") + (alpha ? ":reserve_transparent=1" : "") +
      "[p];[b][p]paletteuse=new=1:dither=" + dither + (alpha ? ":alpha_threshold=128" : "");
  return std::make_unique<FilterGraph>("buffer", source_args, filters, "GIF palette filters");
}

}  // namespace uprez
