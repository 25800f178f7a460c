// What the FFmpeg reader and writer share: error texts and quiet libraries.
#pragma once

#include <string>

namespace uprez {

// FFmpeg's text for an error code.
std::string ffmpeg_error(int code);

// Keeps the libraries' notes (encoder statistics, probing remarks) off stderr: only errors are printed.
void quiet_ffmpeg_logs();

}  // namespace uprez
