// Animations and videos through the FFmpeg libraries (libavformat, libavcodec, libswscale): every container and
// codec they decode (GIF, APNG, mp4, mkv, webm, mov, avi, ...), the best video stream's frames in presentation
// order with their own timestamps, one at a time.
#pragma once

#include <memory>
#include <string>

#include "media/frame.h"

namespace uprez {

// Opens `path`. Frames are 8-bit RGBA when the stream's pixel format has alpha (GIF, APNG, VP9 with alpha), else
// RGB, converted with the stream's colour matrix and range; times are in the stream's time base. Throws Error naming
// `path` for a missing file, one FFmpeg cannot read, or one without a video stream; next() throws for data that
// does not decode.
std::unique_ptr<FrameReader> open_ffmpeg_video(const std::string& path);

}  // namespace uprez
