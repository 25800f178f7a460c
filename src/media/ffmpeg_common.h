// What the FFmpeg reader and writer share: error texts and quiet libraries.
#pragma once

#include <string>

namespace uprez {

// FFmpeg's text for an error code.
std::string ffmpeg_error(int code);

// Keeps the libraries' messages (encoder statistics, probing remarks, their own error lines) off stderr.
void quiet_ffmpeg_logs();

}  // namespace uprez
