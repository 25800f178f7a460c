#include "media/gif_palette.h"

extern "C" {
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
#include <libavutil/pixdesc.h>
}

#include "core/error.h"
#include "media/ffmpeg_common.h"

namespace uprez {

struct GifPalette::Graph {
  AVFilterGraph* graph = nullptr;
  AVFilterContext* source = nullptr;
  AVFilterContext* sink = nullptr;
  ~Graph() { avfilter_graph_free(&graph); }
};

GifPalette::GifPalette(int width, int height, int pixel_format, AVRational time_base, const std::string& dither)
    : graph_(std::make_unique<Graph>()) {
  graph_->graph = avfilter_graph_alloc();
  if (graph_->graph == nullptr) throw Error("out of memory");
  const std::string source_args = "video_size=" + std::to_string(width) + "x" + std::to_string(height) +
                                  ":pix_fmt=" + av_get_pix_fmt_name(static_cast<AVPixelFormat>(pixel_format)) +
                                  ":time_base=" + std::to_string(time_base.num) + "/" + std::to_string(time_base.den) +
                                  ":pixel_aspect=1/1";
  int status = avfilter_graph_create_filter(&graph_->source, avfilter_get_by_name("buffer"), "in",
                                            source_args.c_str(), nullptr, graph_->graph);
  if (status >= 0)
    status = avfilter_graph_create_filter(&graph_->sink, avfilter_get_by_name("buffersink"), "out", nullptr,
                                          nullptr, graph_->graph);
  if (status < 0) throw Error("cannot set up the GIF palette filters: " + ffmpeg_error(status));

  const bool alpha = pixel_format == AV_PIX_FMT_RGBA;
  const std::string description =
      std::string("split[a][b];[a]palettegen=stats_mode=single") + (alpha ? ":reserve_transparent=1" : "") +
      "[p];[b][p]paletteuse=new=1:dither=" + dither + (alpha ? ":alpha_threshold=128" : "");
  AVFilterInOut* outputs = avfilter_inout_alloc();
  AVFilterInOut* inputs = avfilter_inout_alloc();
  if (outputs == nullptr || inputs == nullptr) {
    avfilter_inout_free(&outputs);
    avfilter_inout_free(&inputs);
    throw Error("out of memory");
  }
  outputs->name = av_strdup("in");
  outputs->filter_ctx = graph_->source;
  inputs->name = av_strdup("out");
  inputs->filter_ctx = graph_->sink;
  status = avfilter_graph_parse_ptr(graph_->graph, description.c_str(), &inputs, &outputs, nullptr);
  avfilter_inout_free(&outputs);
  avfilter_inout_free(&inputs);
  if (status >= 0) status = avfilter_graph_config(graph_->graph, nullptr);
  if (status < 0) throw Error("cannot set up the GIF palette (dither \"" + dither + "\"?): " + ffmpeg_error(status));
}

GifPalette::~GifPalette() = default;

void GifPalette::push(AVFrame* frame) {
  const int status = av_buffersrc_add_frame_flags(graph_->source, frame, AV_BUFFERSRC_FLAG_KEEP_REF);
  if (status < 0) throw Error("the GIF palette filters refused a frame: " + ffmpeg_error(status));
}

bool GifPalette::pull(AVFrame* out) {
  av_frame_unref(out);
  const int status = av_buffersink_get_frame(graph_->sink, out);
  if (status == AVERROR(EAGAIN) || status == AVERROR_EOF) return false;
  if (status < 0) throw Error("the GIF palette filters failed: " + ffmpeg_error(status));
  return true;
}

}  // namespace uprez
