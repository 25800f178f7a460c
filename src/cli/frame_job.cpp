#include "cli/frame_job.h"

#include <algorithm>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "core/interrupt.h"
#include "core/output_path.h"

namespace uprez {

namespace {

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

}  // namespace

std::string frame_image_path(const std::string& output, int64_t j, const std::string& format) {
  return std::filesystem::path(output).replace_extension().string() + "_frame_" + std::to_string(j) + "." + format;
}

FrameJobResult process_frames(const PlannedOutput& job, const std::function<Image(Image)>& process,
                              const FrameJobOptions& options,
                              const std::function<void(int64_t done, int64_t total)>& progress) {
  const std::string extension = std::filesystem::path(job.output).extension().string();
  if (options.write_animation && !is_animation_extension(extension))
    throw Error(job.output + ": " + job.input + " is an animation or video, so the output must be one too (" +
                kAnimationExtensionsText + "), not \"" + extension + "\"");
  const std::unique_ptr<FrameReader> reader = open_frames(job.input);
  const StreamInfo source = reader->info();
  const int64_t total = expected_frames(source, options);
  FrameJobResult result;

  // Reading (its own thread): frames before the range passed over undecoded, times shifted so that the range
  // starts where the source did, damage reported or (--keep-going) noted and passed over.
  int64_t index = 0;  // source frames read or passed over
  int damage_in_a_row = 0;
  std::optional<int64_t> first_pts;
  const auto note_damage = [&](const Error& damage) {
    if (!options.keep_going || ++damage_in_a_row > kMaxDamageInARow) throw damage;
    result.warnings.push_back(damage.what());
  };
  const auto past_the_end = [&] {
    return Error(job.input + ": --frame-start " + std::to_string(options.frame_start) +
                 " is past its last frame (it has " + std::to_string(index) + ")");
  };
  const auto read = [&]() -> std::optional<Frame> {
    while (index < options.frame_start) {
      throw_if_interrupted();
      bool more = false;
      try {
        more = reader->skip();
      } catch (const Error& damage) {
        note_damage(damage);
        continue;
      }
      if (!more) throw past_the_end();
      ++index;
    }
    while (!options.frame_end || index <= *options.frame_end) {
      throw_if_interrupted();
      std::optional<Frame> frame;
      try {
        frame = reader->next();
      } catch (const Error& damage) {
        note_damage(damage);
        continue;
      }
      damage_in_a_row = 0;
      if (!frame && index == options.frame_start && options.frame_start > 0) throw past_the_end();
      if (!frame) return std::nullopt;
      ++index;
      if (options.frame_start > 0) {
        if (!first_pts) first_pts = frame->pts;
        frame->pts -= *first_pts;
      }
      return frame;
    }
    return std::nullopt;
  };

  // Writing (its own thread): the output starts with the first processed frame, which gives its size.
  std::unique_ptr<FrameWriter> writer;
  const auto write = [&](Frame frame) {
    ++result.frames;
    result.width = frame.image.width;
    result.height = frame.image.height;
    if (options.write_frames) {
      std::string path = frame_image_path(job.output, result.frames, options.frame_format);
      if (!options.overwrite) path = avoid_existing_path(path);
      write_image(frame.image, path, options.frame_images);
    }
    if (!options.write_animation) return;
    if (!writer) {
      StreamInfo info = source;
      info.width = frame.image.width;
      info.height = frame.image.height;
      info.has_alpha = frame.image.has_alpha();
      AnimationWriteOptions animation = options.animation;
      if (options.keep_audio) {
        SideStreams& side = animation.video.side_streams;
        side.source = job.input;
        if (first_pts) side.from = {*first_pts * source.time_base.num, source.time_base.den};
        side.end_with_video = options.frame_end.has_value();
      }
      writer = create_frames_writer(job.output, info, animation);
    }
    writer->write(frame);
  };

  result.times = run_frame_pipeline(
      read,
      [&](Frame frame) {
        frame.image = process(std::move(frame.image));
        return frame;
      },
      write, [&](int64_t done) { progress(done, std::max(total, done)); });
  if (result.frames == 0) throw Error(job.input + ": no frame decoded");
  if (writer) {
    writer->finish();
    result.notes = writer->notes();
  }
  return result;
}

}  // namespace uprez
