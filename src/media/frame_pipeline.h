// Decoding, processing and writing an animation's or video's frames at the same time: reading and writing run on
// threads of their own, joined to the processing by queues of a few frames, so memory stays flat however long the
// input and the processors wait for neither the decoder nor the encoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "media/frame.h"

namespace uprez {

struct FramePipelineTimes {
  int64_t frames = 0;
  double wall_seconds = 0;
  double process_seconds = 0;  // spent in `process`
};

// Runs `read` (its own thread; nothing at the end) -> `process` (the calling thread, where the processors' thread
// pools live) -> `write` (its own thread) over every frame, with at most `depth` frames waiting between two
// stages. `processed` is called on the calling thread after each frame is processed (progress). The first
// exception of any stage stops all three and is rethrown here.
FramePipelineTimes run_frame_pipeline(const std::function<std::optional<Frame>()>& read,
                                      const std::function<Frame(Frame)>& process,
                                      const std::function<void(Frame)>& write,
                                      const std::function<void(int64_t)>& processed, size_t depth = 3);

}  // namespace uprez
