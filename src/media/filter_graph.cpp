#include "media/filter_graph.h"

extern "C" {
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>
}

#include "core/error.h"
#include "media/ffmpeg_common.h"

namespace uprez {

FilterGraph::FilterGraph(const char* source, const std::string& source_args, const std::string& filters,
                         const std::string& what)
    : what_(what) {
  graph_ = avfilter_graph_alloc();
  if (graph_ == nullptr) throw Error("out of memory");
  const bool audio = std::string(source) == "abuffer";
  int status = avfilter_graph_create_filter(&source_, avfilter_get_by_name(source), "in", source_args.c_str(),
                                            nullptr, graph_);
  if (status >= 0)
    status = avfilter_graph_create_filter(&sink_, avfilter_get_by_name(audio ? "abuffersink" : "buffersink"), "out",
                                          nullptr, nullptr, graph_);
  AVFilterInOut* outputs = avfilter_inout_alloc();
  AVFilterInOut* inputs = avfilter_inout_alloc();
  if (status >= 0 && (outputs == nullptr || inputs == nullptr)) status = AVERROR(ENOMEM);
  if (status >= 0) {
    outputs->name = av_strdup("in");
    outputs->filter_ctx = source_;
    inputs->name = av_strdup("out");
    inputs->filter_ctx = sink_;
    status = avfilter_graph_parse_ptr(graph_, filters.c_str(), &inputs, &outputs, nullptr);
  }
  avfilter_inout_free(&outputs);
  avfilter_inout_free(&inputs);
  if (status >= 0) status = avfilter_graph_config(graph_, nullptr);
  if (status < 0) {
    avfilter_graph_free(&graph_);
    throw Error("cannot set up the " + what_ + " (" + filters + "): " + ffmpeg_error(status));
  }
}

FilterGraph::~FilterGraph() { avfilter_graph_free(&graph_); }

void FilterGraph::push(AVFrame* frame) {
  const int status = av_buffersrc_add_frame_flags(source_, frame, AV_BUFFERSRC_FLAG_KEEP_REF);
  if (status < 0) throw Error("the " + what_ + " refused a frame: " + ffmpeg_error(status));
}

bool FilterGraph::pull(AVFrame* out) {
  av_frame_unref(out);
  const int status = av_buffersink_get_frame(sink_, out);
  if (status == AVERROR(EAGAIN) || status == AVERROR_EOF) return false;
  if (status < 0) throw Error("the " + what_ + " failed: " + ffmpeg_error(status));
  return true;
}

AVRational FilterGraph::output_time_base() const { return av_buffersink_get_time_base(sink_); }

void FilterGraph::set_output_frame_size(int samples) { av_buffersink_set_frame_size(sink_, samples); }

}  // namespace uprez
