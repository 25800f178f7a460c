// What the media and CLI tests share: frames written one after another, a whole stream read back, frame times in
// other units, pixel checks that leave out colours under full transparency, and the error reading a file gives.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "media/frame.h"

namespace uprez::test {

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
