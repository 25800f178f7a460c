// Animated WebP through libwebp: a reader that decodes one composed canvas at a time (WebPAnimDecoder), with each
// frame's own display time, and a writer (WebPAnimEncoder) that keeps those times and the alpha channel.
#pragma once

#include <memory>
#include <string>

#include "media/frame.h"

namespace uprez {

// Opens the WebP file at `path` (animated or still: a still file is one frame). Frames are 8-bit RGBA when the file
// has alpha, else RGB, in a time base of 1/1000 s. Throws Error naming `path` for a missing, corrupt or truncated
// file.
std::unique_ptr<FrameReader> open_webp_animation(const std::string& path);

struct WebpAnimationOptions {
  bool lossless = false;
  int quality = 95;  // 1-100, lossy only
};

// Writes an animated WebP of `info.width` x `info.height` at `path` (atomically: nothing is there until finish()),
// playing `info.loop_count` times. Frames must have that size; their times are rounded to milliseconds.
std::unique_ptr<FrameWriter> create_webp_animation(const std::string& path, const StreamInfo& info,
                                                   const WebpAnimationOptions& options);

}  // namespace uprez
