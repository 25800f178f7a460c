// Animations and videos written through the FFmpeg libraries (libavcodec, libavformat, libswscale, libavfilter):
// GIF (a palette per frame), APNG and video containers (mp4, mkv, webm, mov, ...) with a chosen encoder, quality and pixel format, each frame at its
// own timestamp, with the source's audio and subtitles alongside. The file appears only when finish() succeeds.
#pragma once

#include <memory>
#include <string>

#include "media/frame.h"
#include "media/side_streams.h"

namespace uprez {

struct VideoEncodeOptions {
  // An FFmpeg encoder name or alias (h264, h265, vp9, av1, ffv1, apng, ...); empty: the container's usual one.
  std::string codec;
  int crf = -1;              // constant quality (-1: 18 for h264/h265/vp9/av1, else the encoder's default)
  int64_t bitrate = 0;       // bits per second (0: quality-based)
  std::string pixel_format;  // e.g. yuv420p, yuv444p, rgb24 (empty: yuv420p for h264/h265/vp9/av1, else the
                             // encoder's best for the frames)
  std::string preset = "";   // the encoder's speed/size trade-off (x264/x265: ultrafast ... veryslow; "": its own)
  std::string gif_dither = "sierra2_4a";  // GIF: FFmpeg paletteuse's dither (bayer, floyd_steinberg, none, ...)
  SideStreams side_streams{};  // audio and subtitles to carry over from the source
};

// Creates `path` (its extension chooses the container: .gif, .apng, .png, .mp4, .mkv, .webm, .mov, .avi, ...) for
// frames of `info.width` x `info.height` in `info.time_base`, playing `info.loop_count` times where the container
// says (GIF, APNG). Throws Error naming `path` for an unknown container or encoder, or options the encoder refuses.
std::unique_ptr<FrameWriter> create_ffmpeg_video(const std::string& path, const StreamInfo& info,
                                                 const VideoEncodeOptions& options);

}  // namespace uprez
