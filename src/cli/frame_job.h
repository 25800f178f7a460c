// image-process for an animation or video: its frames (a chosen range of them) through the processor chain into
// an animation or video of the same kind with every frame's time, its audio and subtitles, and optionally each
// frame as an image of its own (dgenerate's `<stem>_frame_<j>.<ext>`).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cli/output_plan.h"
#include "image/image_io.h"
#include "media/frame_pipeline.h"
#include "media/media_file.h"

namespace uprez {

struct FrameJobOptions {
  int64_t frame_start = 0;             // the first frame processed (0-based)
  std::optional<int64_t> frame_end;    // the last frame processed, inclusive
  bool write_animation = true;         // false: -naf
  bool write_frames = false;           // each frame as an image too
  std::string frame_format = "png";    // their extension, without the dot
  bool overwrite = false;              // frame images replace files of the same name
  bool keep_going = false;             // damaged frames are left out instead of failing the job
  bool keep_audio = true;              // audio and subtitles go into the output
  AnimationWriteOptions animation;
  ImageWriteOptions frame_images;
};

struct FrameJobResult {
  int64_t frames = 0;
  int width = 0, height = 0;
  FramePipelineTimes times;
  std::vector<std::string> notes;     // from the writer (audio copied, re-encoded, left out)
  std::vector<std::string> warnings;  // damage passed over with --keep-going
};

// Runs the job; `process` is the chain on one picture, `progress` is told frames done and the expected total.
// Throws Error naming the file or option.
FrameJobResult process_frames(const PlannedOutput& job, const std::function<Image(Image)>& process,
                              const FrameJobOptions& options,
                              const std::function<void(int64_t done, int64_t total)>& progress);

// dgenerate's name for the image of frame `j` (1-based within the range) of the animation written to `output`.
std::string frame_image_path(const std::string& output, int64_t j, const std::string& format);

}  // namespace uprez
