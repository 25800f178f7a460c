// The frames of animations and videos as uprez streams them: each a still Image with its presentation time, read
// one at a time from a FrameReader and handed one at a time to a FrameWriter, so that memory does not grow with
// the length of the input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "image/image.h"

namespace uprez {

// An exact fraction (frame rates such as 30000/1001, time bases such as 1/1000).
struct Rational {
  int64_t num = 0;
  int64_t den = 1;
};

struct Frame {
  Image image;
  int64_t pts = 0;       // presentation time, in the stream's time base
  int64_t duration = 0;  // how long it shows, in the stream's time base
};

// What a stream says about all its frames.
struct StreamInfo {
  int width = 0;
  int height = 0;
  Rational time_base{1, 1000};  // seconds per unit of pts and duration
  Rational frame_rate{0, 1};    // the nominal rate (30000/1001 stays exact); 0/1 when the container has none
  bool constant_frame_rate = false;  // every frame lasts 1 / frame_rate (timestamps may be rounded, as in mkv)
  int64_t frame_count = -1;     // -1 when the container does not say
  int64_t duration = -1;        // the stream's length in time_base, -1 when the container does not say
  int loop_count = 0;           // animations: how often they play, 0 = forever
  bool has_alpha = false;
};

class FrameReader {
 public:
  virtual ~FrameReader() = default;
  virtual const StreamInfo& info() const = 0;
  // The next frame in presentation order, or nothing at the end. Throws Error naming the file for corrupt data;
  // asked again after that, it goes on with the data after the damage, or gives nothing when none is left.
  virtual std::optional<Frame> next() = 0;
  // Passes over the next frame without converting it (frames before a chosen start); false at the end.
  virtual bool skip() { return next().has_value(); }
};

class FrameWriter {
 public:
  virtual ~FrameWriter() = default;
  // Adds a frame (frames come in presentation order); throws Error naming the file.
  virtual void write(const Frame& frame) = 0;
  // Completes the file; without it (an error, an interruption) nothing is left at the output path.
  virtual void finish() = 0;
  // What the writer did beyond the frames, for the user (audio copied, re-encoded or left out), after finish().
  virtual std::vector<std::string> notes() const { return {}; }
};

// Throws Error naming `path` unless RGBA frames of `info`'s size are within the image limits: readers check a
// header's size before decoding any frame.
void check_frame_size(const StreamInfo& info, const std::string& path);

// `ticks` of time base `from` in time base `to`, rounded to nearest.
int64_t rescale(int64_t ticks, Rational from, Rational to);

}  // namespace uprez
