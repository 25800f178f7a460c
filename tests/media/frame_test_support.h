// What the media and CLI tests share: test media made by Debian's ffmpeg program, frames written one after
// another, a whole stream read back, frame times in other units, the streams a file holds, pixel checks that leave
// out colours under full transparency, and the error reading a file gives.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

extern "C" {
#include <libavformat/avformat.h>
}

#include "core/error.h"
#include "media/frame.h"

namespace uprez::test {

// Debian's ffmpeg program makes test media (a test tool only: uprez reads them through the libraries).
inline bool have_ffmpeg() { return std::system("ffmpeg -version > /dev/null 2>&1") == 0; }

inline void run_ffmpeg(const std::string& arguments) {
  const std::string command = "ffmpeg -nostdin -hide_banner -loglevel error -y " + arguments;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

// One stream of a media file as libavformat sees it.
struct StreamSummary {
  std::string type;   // "video", "audio", "subtitle", ...
  std::string codec;  // e.g. "aac", "opus", "h264"
  double seconds = 0; // its packets' span: from the first start to the last end
};

// The streams of the file at `path`, with the span its packets cover (read through all of them).
inline std::vector<StreamSummary> probe_streams(const std::string& path) {
  AVFormatContext* format = nullptr;
  std::vector<StreamSummary> streams;
  if (avformat_open_input(&format, path.c_str(), nullptr, nullptr) < 0) return streams;
  if (avformat_find_stream_info(format, nullptr) >= 0) {
    std::vector<double> first(format->nb_streams, 1e300), end(format->nb_streams, -1e300);
    AVPacket* packet = av_packet_alloc();
    while (av_read_frame(format, packet) >= 0) {
      const AVStream* stream = format->streams[packet->stream_index];
      const double base = av_q2d(stream->time_base);
      const int64_t start = packet->pts != AV_NOPTS_VALUE ? packet->pts : packet->dts;
      first[packet->stream_index] = std::min(first[packet->stream_index], start * base);
      end[packet->stream_index] = std::max(end[packet->stream_index], (start + packet->duration) * base);
      av_packet_unref(packet);
    }
    av_packet_free(&packet);
    for (unsigned i = 0; i < format->nb_streams; ++i) {
      const AVCodecParameters* parameters = format->streams[i]->codecpar;
      const char* type = av_get_media_type_string(parameters->codec_type);
      streams.push_back({type ? type : "?", avcodec_get_name(parameters->codec_id),
                         end[i] > first[i] ? end[i] - first[i] : 0});
    }
  }
  avformat_close_input(&format);
  return streams;
}

// The first stream of `type` in `streams`, if any.
inline std::optional<StreamSummary> find_stream(const std::vector<StreamSummary>& streams, const std::string& type) {
  for (const StreamSummary& stream : streams)
    if (stream.type == type) return stream;
  return std::nullopt;
}

// Four-colour RGBA frames (GIF keeps them exactly): a quadrant pattern shifted by `phase`, with a transparent
// top-left quadrant.
inline Image quadrant_frame(int width, int height, int phase) {
  Image image(width, height, 4, 8);
  const uint8_t colours[4][4] = {{0, 0, 0, 0}, {255, 0, 0, 255}, {0, 255, 0, 255}, {0, 0, 255, 255}};
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      const int quadrant = (y >= height / 2 ? 2 : 0) + (x >= width / 2 ? 1 : 0);
      const int colour = quadrant == 0 ? 0 : 1 + (quadrant - 1 + phase) % 3;
      std::copy(colours[colour], colours[colour] + 4, image.row(y) + x * 4);
    }
  return image;
}

// A constant-rate 30000/1001 (NTSC) video stream of `width` x `height`, timed in frames.
inline StreamInfo ntsc_video_info(int width, int height) {
  StreamInfo info;
  info.width = width;
  info.height = height;
  info.time_base = {1001, 30000};
  info.frame_rate = {30000, 1001};
  info.constant_frame_rate = true;
  return info;
}

// Writes `pictures`, picture i lasting durations[i] ticks and starting where the one before ended, then finishes.
inline void write_in_sequence(FrameWriter& writer, const std::vector<Image>& pictures,
                              const std::vector<int64_t>& durations) {
  int64_t pts = 0;
  for (size_t i = 0; i < pictures.size(); ++i) {
    writer.write({pictures[i], pts, durations[i]});
    pts += durations[i];
  }
  writer.finish();
}

// Every frame the reader gives.
inline std::vector<Frame> read_all(FrameReader& reader) {
  std::vector<Frame> frames;
  while (std::optional<Frame> frame = reader.next()) frames.push_back(std::move(*frame));
  return frames;
}

// The frames' start times and durations in ticks of `unit`.
inline std::vector<int64_t> starts_in(const std::vector<Frame>& frames, Rational time_base, Rational unit) {
  std::vector<int64_t> starts;
  for (const Frame& frame : frames) starts.push_back(rescale(frame.pts, time_base, unit));
  return starts;
}
inline std::vector<int64_t> durations_in(const std::vector<Frame>& frames, Rational time_base, Rational unit) {
  std::vector<int64_t> durations;
  for (const Frame& frame : frames) durations.push_back(rescale(frame.duration, time_base, unit));
  return durations;
}

// RGBA `actual` against `expected`: alpha equal (or only on the same side of 127, `alpha_side_only`), colours equal
// where `expected` is opaque (colours under full transparency need not survive).
inline void expect_same_where_opaque(const Image& actual, const Image& expected, bool alpha_side_only = false) {
  ASSERT_EQ(actual.channels, 4);
  ASSERT_EQ(actual.data.size(), expected.data.size());
  for (size_t p = 0; p < expected.data.size(); p += 4) {
    if (alpha_side_only)
      EXPECT_EQ(actual.data[p + 3] > 127, expected.data[p + 3] > 127) << "pixel " << p / 4;
    else
      EXPECT_EQ(actual.data[p + 3], expected.data[p + 3]) << "pixel " << p / 4;
    if (expected.data[p + 3] == 255) {
      for (int c = 0; c < 3; ++c) EXPECT_EQ(actual.data[p + c], expected.data[p + c]) << "pixel " << p / 4;
    }
  }
}

// The message of the Error that opening `path` with `open` and reading all its frames throws; "" when none does.
template <typename Open>
std::string read_error(const std::string& path, const Open& open) {
  try {
    auto reader = open(path);
    read_all(*reader);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace uprez::test
