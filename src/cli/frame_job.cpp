// image-process on one animation or video: a reader for the chosen frame range, the processing pipeline, and a
// writer for the output file and the frame images.
#include "cli/frame_job.h"

#include <algorithm>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/output_path.h"

namespace uprez {

namespace frame_job {

// With --keep-going, this many damaged places in a row end the job anyway (a reader that cannot move on).
constexpr int kMaxDamageInARow = 100;

// How many frames the job will process, from the container's count or its length and rate; -1 when unknown.
int64_t expected_frames(const StreamInfo& source, const FrameJobOptions& options) {
  int64_t count = source.frame_count;
  if (count <= 0 && source.duration > 0 && source.frame_rate.num > 0)
    count = rescale(source.duration, source.time_base, {source.frame_rate.den, source.frame_rate.num});
  if (count <= 0) return -1;
  if (options.frame_end) count = std::min(count, *options.frame_end + 1);
  return std::max<int64_t>(0, count - options.frame_start);
}

void check_output_extension(const PlannedOutput& job, const FrameJobOptions& options) {
  const std::string extension = std::filesystem::path(job.output).extension().string();
  if (options.write_animation && !is_animation_extension(extension))
    throw Error(job.output + ": " + job.input + " is an animation or video, so the output must be one too (" +
                kAnimationExtensionsText + "), not \"" + extension + "\"");
}

// Reading (the pipeline's own thread): frames before the range passed over undecoded, times shifted so that the
// range starts where the source did, damage reported or (--keep-going) noted and passed over.
class RangeReader {
 public:
  RangeReader(const PlannedOutput& job, const FrameJobOptions& options)
      : job_(job), options_(options), reader_(open_frames(job.input)) {}

  const StreamInfo& info() const { return reader_->info(); }
  // The source time of the range's first frame, once read, when the range starts after frame 0.
  const std::optional<int64_t>& first_pts() const { return first_pts_; }
  const std::vector<std::string>& warnings() const { return warnings_; }

  std::optional<Frame> next() {
    skip_to_start();
    while (!options_.frame_end || index_ <= *options_.frame_end) {
      throw_if_interrupted();
      std::optional<Frame> frame;
      try {
        frame = reader_->next();
      } catch (const Error& damage) {
        note_damage(damage);
        continue;
      }
      damage_in_a_row_ = 0;
      if (!frame && index_ == options_.frame_start && options_.frame_start > 0) throw past_the_end();
      if (!frame) return std::nullopt;
      ++index_;
      if (options_.frame_start > 0) {
        if (!first_pts_) first_pts_ = frame->pts;
        frame->pts -= *first_pts_;
      }
      return frame;
    }
    return std::nullopt;
  }

 private:
  void skip_to_start() {
    while (index_ < options_.frame_start) {
      throw_if_interrupted();
      bool more = false;
      try {
        more = reader_->skip();
      } catch (const Error& damage) {
        note_damage(damage);
        continue;
      }
      if (!more) throw past_the_end();
      ++index_;
    }
  }

  void note_damage(const Error& damage) {
    if (!options_.keep_going || ++damage_in_a_row_ > kMaxDamageInARow) throw damage;
    warnings_.push_back(damage.what());
  }

  Error past_the_end() const {
    return Error(job_.input + ": --frame-start " + std::to_string(options_.frame_start) +
                 " is past its last frame (it has " + std::to_string(index_) + ")");
  }

  const PlannedOutput& job_;
  const FrameJobOptions& options_;
  std::unique_ptr<FrameReader> reader_;
  int64_t index_ = 0;  // source frames read or passed over
  int damage_in_a_row_ = 0;
  std::optional<int64_t> first_pts_;
  std::vector<std::string> warnings_;
};

// Writing (the pipeline's own thread): each processed frame as an image when asked, and into the animation or
// video, which starts with the first processed frame (it gives the size). Counts the frames into `result`.
class FrameOutput {
 public:
  FrameOutput(const PlannedOutput& job, const FrameJobOptions& options, const StreamInfo& source,
              const RangeReader& reader, FrameJobResult& result)
      : job_(job), options_(options), source_(source), reader_(reader), result_(result) {}

  void write(const Frame& frame) {
    ++result_.frames;
    result_.width = frame.image.width;
    result_.height = frame.image.height;
    if (options_.write_frames) {
      std::string path = frame_image_path(job_.output, result_.frames, options_.frame_format);
      if (!options_.overwrite) path = avoid_existing_path(path);
      write_image(frame.image, path, options_.frame_images);
    }
    if (!options_.write_animation) return;
    if (!writer_) writer_ = open(frame.image);
    writer_->write(frame);
  }

  void finish() {
    if (!writer_) return;
    writer_->finish();
    result_.notes = writer_->notes();
  }

 private:
  std::unique_ptr<FrameWriter> open(const Image& first) const {
    StreamInfo info = source_;
    info.width = first.width;
    info.height = first.height;
    info.has_alpha = first.has_alpha();
    AnimationWriteOptions animation = options_.animation;
    if (options_.keep_audio) {
      SideStreams& side = animation.video.side_streams;
      side.source = job_.input;
      if (reader_.first_pts()) side.from = {*reader_.first_pts() * source_.time_base.num, source_.time_base.den};
      side.end_with_video = options_.frame_end.has_value();
    }
    return create_frames_writer(job_.output, info, animation);
  }

  const PlannedOutput& job_;
  const FrameJobOptions& options_;
  const StreamInfo& source_;
  const RangeReader& reader_;
  FrameJobResult& result_;
  std::unique_ptr<FrameWriter> writer_;
};

}  // namespace frame_job

std::string frame_image_path(const std::string& output, int64_t j, const std::string& format) {
  return std::filesystem::path(output).replace_extension().string() + "_frame_" + std::to_string(j) + "." + format;
}

FrameJobResult process_frames(const PlannedOutput& job, const std::function<Image(Image)>& process,
                              const FrameJobOptions& options,
                              const std::function<void(int64_t done, int64_t total)>& progress) {
  frame_job::check_output_extension(job, options);
  frame_job::RangeReader reader(job, options);
  const StreamInfo source = reader.info();
  const int64_t total = frame_job::expected_frames(source, options);
  FrameJobResult result;
  frame_job::FrameOutput output(job, options, source, reader, result);
  result.times = run_frame_pipeline(
      [&] { return reader.next(); },
      [&](Frame frame) {
        frame.image = process(std::move(frame.image));
        return frame;
      },
      [&](Frame frame) { output.write(frame); }, [&](int64_t done) { progress(done, std::max(total, done)); });
  if (result.frames == 0) throw Error(job.input + ": no frame decoded");
  output.finish();
  result.warnings = reader.warnings();
  return result;
}

}  // namespace uprez
