// Which files are animations or videos, and the reader or writer for each: animated WebP through libwebp,
// everything else (GIF, APNG, video containers) through the FFmpeg libraries.
#pragma once

#include <memory>
#include <string>

#include "media/ffmpeg_writer.h"
#include "media/frame.h"

namespace uprez {

// Whether the file at `path` holds more than a still picture: judged by its content for GIF (any), PNG (an acTL
// chunk: APNG) and WebP (the animation flag), by its extension for video containers. Throws Error naming `path`
// when it cannot be read.
bool is_animation_or_video(const std::string& path);

// Whether `extension` (with its dot, any case) names a format uprez writes animations and videos to.
bool is_animation_extension(const std::string& extension);

// Those extensions as messages list them: ".webp, .gif, .apng, .mp4, .mkv, .webm, .mov or .avi".
extern const char* const kAnimationExtensionsText;

std::unique_ptr<FrameReader> open_frames(const std::string& path);

struct AnimationWriteOptions {
  int quality = 95;       // lossy WebP
  bool lossless = false;  // WebP
  VideoEncodeOptions video;
};

// A writer for `path` by its extension (.webp, .apng, video containers); throws Error naming `path` for one
// uprez does not write animations to.
std::unique_ptr<FrameWriter> create_frames_writer(const std::string& path, const StreamInfo& info,
                                                  const AnimationWriteOptions& options);

}  // namespace uprez
