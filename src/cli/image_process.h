// image-process, dgenerate's sub-command for running images, animations and videos through a chain of image
// processors: its options as a struct, their parsing from a command line, and the run, so that a config script
// can call it directly instead of rebuilding an argv.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/device.h"
#include "media/ffmpeg_writer.h"

namespace uprez {

// --resize: WIDTHxHEIGHT, or WIDTH alone.
struct ResizeRequest {
  int width = 0;
  int height = 0;  // 0: keep the aspect ratio from width
};

// Every option of the command line, typed; the defaults are the command's.
struct ImageProcessOptions {
  std::vector<std::string> inputs;      // images, animations, videos, or folders of them
  std::vector<std::string> processors;  // URIs, chained in order
  std::vector<std::string> outputs;     // one per input, or one folder ending in '/'; none: beside the inputs
  bool overwrite = false;               // -ox
  std::optional<ResizeRequest> resize;  // between the pre-resize processors and the others
  bool no_aspect = false;               // -na
  int align = 1;                        // -al
  std::string device = default_device_name();
  int quality = 95;                     // JPEG/WebP
  bool lossless = false;                // WebP
  int threads = 0;                      // 0: every core
  int64_t frame_start = 0;              // -fs
  std::optional<int64_t> frame_end;     // -fe, inclusive
  bool frames = false;                  // --frames
  std::string frame_format;             // -ff; empty: png, and no frame images unless asked
  bool no_frames = false;               // -nf
  bool no_animation_file = false;       // -naf
  VideoEncodeOptions video;             // --codec, --crf, --bitrate, --preset, --pix-fmt, --gif-dither
  bool no_audio = false;
  bool keep_going = false;
};

// Parses the command line after "image-process" (CLI11, dgenerate's short aliases too), checks the device and
// the resize. Throws HelpRequested (status 0) for --help, Error with a one-line message for anything else wrong.
ImageProcessOptions parse_image_process(const std::vector<std::string>& args);

// Runs the job: each input through the chain into its output, printing "image-process: wrote ..." lines and
// progress bars. Throws Error (or another exception, e.g. from LibTorch) at the first failure.
void run_image_process(const ImageProcessOptions& options);

// The sub-command: parse and run; the exit status (0, or 1 after "image-process: error: <message>" on stderr).
int image_process_main(const std::vector<std::string>& args);

// dgenerate's multi-letter short options (-ox, -na, -al ...) spelled as the long options CLI11 understands.
std::vector<std::string> expand_short_aliases(const std::vector<std::string>& args);

}  // namespace uprez
