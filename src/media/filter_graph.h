// A libavfilter graph with one input and one output, as the FFmpeg writer uses them: GIF palettes for video frames,
// sample format, rate and frame size conversion for re-encoded audio. Frames are pushed in and pulled out.
#pragma once

#include <memory>
#include <string>

extern "C" {
#include <libavfilter/avfilter.h>
#include <libavutil/frame.h>
}

namespace uprez {

class FilterGraph {
 public:
  // `source`: "buffer" (video) or "abuffer" (audio) with its arguments; `filters`: the chain between source and
  // sink in FFmpeg's filter syntax. `what` names the graph in errors. Throws Error.
  FilterGraph(const char* source, const std::string& source_args, const std::string& filters, const std::string& what);
  ~FilterGraph();
  FilterGraph(const FilterGraph&) = delete;
  FilterGraph& operator=(const FilterGraph&) = delete;

  // Hands `frame` (nullptr: the end) to the filters; the frame stays the caller's.
  void push(AVFrame* frame);
  // The next filtered frame into `out` (unreferenced first), or false when none is ready.
  bool pull(AVFrame* out);
  // The output's time base, and (audio) a fixed number of samples per output frame.
  AVRational output_time_base() const;
  void set_output_frame_size(int samples);

 private:
  AVFilterGraph* graph_ = nullptr;
  AVFilterContext* source_ = nullptr;
  AVFilterContext* sink_ = nullptr;
  std::string what_;
};

}  // namespace uprez
