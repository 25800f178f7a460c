// The audio and subtitle streams of a video carried into its processed copy: packets copied unchanged where the
// output container takes their codec, otherwise audio re-encoded to the container's usual codec and text
// subtitles to its text format (bitmap subtitles it cannot hold are left out). They are read from the source file on their own, in step with the video
// frames being written, so nothing piles up in memory.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "media/frame.h"

struct AVFormatContext;
struct AVPacket;

namespace uprez {

struct SideStreams {
  std::string source;  // the file whose audio and subtitle streams go along ("": none)
  // The source time, in seconds, that becomes the output's start: packets before it are left out (0: all kept,
  // with their times unchanged). Set when the video's first frames are skipped.
  Rational from{0, 1};
  // End the side streams with the video (when its last frames are cut off) rather than at their own end.
  bool end_with_video = false;
};

class SideStreamCopier {
 public:
  // Adds an output stream to `output` for each audio and subtitle stream of `options.source` that `output`'s
  // container can hold; call before the header is written. `target` names the output in errors. Throws Error.
  SideStreamCopier(const SideStreams& options, AVFormatContext* output, const std::string& target);
  ~SideStreamCopier();
  SideStreamCopier(const SideStreamCopier&) = delete;
  SideStreamCopier& operator=(const SideStreamCopier&) = delete;

  // Writes the side packets that start before `seconds` of output time.
  void write_until(double seconds);
  // Writes the rest (up to `video_end_seconds` when the options say so) and flushes re-encoders.
  void finish(double video_end_seconds);
  // One line per source stream: copied, re-encoded (and why) or left out (and why).
  const std::vector<std::string>& notes() const { return notes_; }

 private:
  struct Stream;
  bool read_packet();
  void write_packet(Stream& stream);
  void reencode_subtitle(Stream& stream);
  void flush(Stream& stream, bool end_of_stream);

  AVFormatContext* input_ = nullptr;
  AVFormatContext* output_ = nullptr;
  std::string target_;
  SideStreams options_;
  std::vector<std::unique_ptr<Stream>> streams_;  // by source stream index; null for streams not carried
  AVPacket* packet_ = nullptr;
  bool packet_pending_ = false;  // packet_ holds a carried packet read ahead, not yet written
  bool input_done_ = false;
  std::vector<std::string> notes_;
};

}  // namespace uprez
