#include "media/frame_pipeline.h"

#include <chrono>
#include <exception>
#include <mutex>
#include <thread>

#include "core/bounded_queue.h"

namespace uprez {

namespace frame_pipeline {

// The first failure of any stage, and the queues to close so that every stage stops.
class PipelineFailure {
 public:
  PipelineFailure(BoundedQueue<Frame>& decoded, BoundedQueue<Frame>& processed)
      : decoded_(decoded), processed_(processed) {}

  void record(std::exception_ptr error) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!first_) first_ = error;
    }
    decoded_.close();
    processed_.close();
  }

  void rethrow_first() {
    if (first_) std::rethrow_exception(first_);
  }

 private:
  BoundedQueue<Frame>& decoded_;
  BoundedQueue<Frame>& processed_;
  std::mutex mutex_;
  std::exception_ptr first_;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace frame_pipeline

FramePipelineTimes run_frame_pipeline(const std::function<std::optional<Frame>()>& read,
                                      const std::function<Frame(Frame)>& process,
                                      const std::function<void(Frame)>& write,
                                      const std::function<void(int64_t)>& processed, size_t depth) {
  const auto start = std::chrono::steady_clock::now();
  BoundedQueue<Frame> decoded(depth), done(depth);
  frame_pipeline::PipelineFailure failure(decoded, done);
  std::thread reader([&] {
    try {
      while (std::optional<Frame> frame = read())
        if (!decoded.push(std::move(*frame))) return;
      decoded.close();
    } catch (...) {
      failure.record(std::current_exception());
    }
  });
  std::thread writer([&] {
    try {
      while (std::optional<Frame> frame = done.pop()) write(std::move(*frame));
    } catch (...) {
      failure.record(std::current_exception());
    }
  });

  FramePipelineTimes times;
  try {
    while (std::optional<Frame> frame = decoded.pop()) {
      const auto process_start = std::chrono::steady_clock::now();
      Frame result = process(std::move(*frame));
      times.process_seconds += frame_pipeline::seconds_since(process_start);
      ++times.frames;
      processed(times.frames);
      if (!done.push(std::move(result))) break;
    }
    done.close();
  } catch (...) {
    failure.record(std::current_exception());
  }
  reader.join();
  writer.join();
  failure.rethrow_first();
  times.wall_seconds = frame_pipeline::seconds_since(start);
  return times;
}

}  // namespace uprez
