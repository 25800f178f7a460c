// image-process: the command line (CLI11, in the order --help lists it), the checks on its options, and the run:
// each input through the processor chain (with the resize between pre-resize processors and the others) into
// its planned output, stills directly and animations or videos through the frame job.
#include "cli/image_process.h"
#include "cli/parse_command_line.h"
#include "cli/short_aliases.h"

#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <thread>

#include "cli/frame_job.h"
#include "cli/help_requested.h"
#include "cli/output_plan.h"
#include "cli/progress_bar.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/output_path.h"
#include "image/image_io.h"
#include "image/resize.h"
#include "processors/processor.h"

namespace uprez {

namespace image_process {

ResizeRequest parse_resize(const std::string& text) {
  ResizeRequest request;
  const size_t x = text.find_first_of("xX");
  try {
    size_t used = 0;
    request.width = std::stoi(text.substr(0, x), &used);
    if (used != (x == std::string::npos ? text.size() : x)) throw std::invalid_argument(text);
    if (x != std::string::npos) {
      request.height = std::stoi(text.substr(x + 1), &used);
      if (used != text.size() - x - 1) throw std::invalid_argument(text);
    }
  } catch (const std::exception&) {
    throw Error("--resize: expected WIDTHxHEIGHT or WIDTH, got \"" + text + "\"");
  }
  if (request.width < 1 || request.width > 65535 || (x != std::string::npos && (request.height < 1 || request.height > 65535)))
    throw Error("--resize: sizes must be between 1 and 65535, got \"" + text + "\"");
  return request;
}

int align_down(int value, int align) { return std::max(align, value - value % align); }

// dgenerate's resize_image_calc: the target aligned down to `align`; with the aspect ratio kept, the height
// follows from the width. Without --resize, only the alignment applies.
std::pair<int, int> resized_size(int width, int height, const ResizeRequest* request, bool keep_aspect, int align) {
  if (!request) return {align_down(width, align), align_down(height, align)};
  const int target_w = align_down(request->width, align);
  if (keep_aspect) {
    const int h = static_cast<int>(height * (static_cast<double>(target_w) / width));
    return {target_w, align_down(std::max(h, 1), align)};
  }
  return {target_w, align_down(request->height ? request->height : request->width, align)};
}

// The options parsed into text first and checked afterwards: --resize and the "none" of --frame-end.
struct RawOptions {
  std::string resize;
  int64_t frame_end = -1;
};

// What goes where and how it is written: inputs, chain, outputs, resize, device, quality, threads.
void add_job_options(CLI::App& app, ImageProcessOptions& o, RawOptions& raw) {
  app.add_option("input", o.inputs, "Input images, animations (GIF, WebP, APNG) and videos, or folders of them "
                                    "(their supported files, sorted).")
      ->required();
  app.add_option("-p,--processors", o.processors, "Image processor URIs, chained in order; see "
                                                  "--image-processor-help.")
      ->expected(1, -1);
  app.add_option("-o,--output", o.outputs,
                 "Output files, one per input, or one folder ending in '/'. Default: <stem>_processed_<i><ext> "
                 "beside the input. The format follows the extension: png, jpg, webp, bmp, tif for images; webp, "
                 "gif, apng, mp4, mkv, webm, mov, avi for animations and videos (an animated input needs one).")
      ->expected(1, -1);
  app.add_flag("--output-overwrite", o.overwrite,
               "(-ox) Overwrite existing outputs instead of adding _duplicate_<k>; an input is replaced only when "
               "-o names it.");
  app.add_option("-r,--resize", raw.resize, "Resize to WIDTHxHEIGHT or WIDTH (Lanczos), between processors that "
                                            "run before resizing (pre-resize=true) and the others.");
  app.add_flag("--no-aspect", o.no_aspect, "(-na) Make --resize ignore the aspect ratio.");
  app.add_option("--align", o.align, "(-al) Align image sizes down to a multiple of this (default 1: unchanged; "
                                     "dgenerate's default is 8).")
      ->check(CLI::Range(1, 4096));
  app.add_option("-d,--device", o.device, "Device: cpu, cuda or cuda:N (default: cuda when available, else cpu).");
  app.add_option("--quality", o.quality, "JPEG/WebP quality, 1-100 (default 95).")->check(CLI::Range(1, 100));
  app.add_flag("--lossless", o.lossless, "Write WebP images and animations losslessly.");
  app.add_option("--threads", o.threads, "CPU threads (default: all cores).")->check(CLI::Range(1, 1024));
}

// Which frames of animations and videos are processed, and whether they are written as images.
void add_frame_options(CLI::App& app, ImageProcessOptions& o, RawOptions& raw) {
  app.add_option("--frame-start", o.frame_start, "(-fs) First frame of animations and videos to process, 0-based "
                                                 "(default 0); the frames before it are passed over, not processed.")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app.add_option("--frame-end", raw.frame_end, "(-fe) Last frame to process, 0-based, inclusive (default: the "
                                               "last).")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app.add_flag("--frames", o.frames, "Also write every processed frame as an image, <output stem>_frame_<j>.<ext> "
                                     "(j from 1). Off by default, unlike dgenerate.");
  app.add_option("--frame-format", o.frame_format, "(-ff) The frame images' format: png (default), jpg, webp, "
                                                   "bmp, tif; implies --frames unless -nf.");
  app.add_flag("--no-frames", o.no_frames, "(-nf) Write no frame images (the default; kept for dgenerate's "
                                           "commands).");
  app.add_flag("--no-animation-file", o.no_animation_file,
               "(-naf) Write only the frame images, no animation or video file.");
}

// How animations and videos are encoded, their audio, and damaged inputs.
void add_video_options(CLI::App& app, ImageProcessOptions& o) {
  app.add_option("--codec", o.video.codec, "Video encoder: h264 (mp4, mkv, mov, avi default), h265, vp9 (webm "
                                           "default), av1, ffv1 (lossless), or any FFmpeg encoder name.");
  app.add_option("--crf", o.video.crf, "Constant quality for h264/h265/vp9/av1, lower is better (default 18).")
      ->check(CLI::Range(0, 63));
  app.add_option("--bitrate", o.video.bitrate, "Video bit rate in bits/s instead of constant quality (e.g. "
                                               "8000000).")
      ->check(CLI::Range(int64_t{1000}, int64_t{1} << 36));
  app.add_option("--preset", o.video.preset, "Encoder speed against file size: ultrafast ... medium (x264/x265 "
                                             "default) ... veryslow; 0-13 for SVT-AV1.");
  app.add_option("--pix-fmt", o.video.pixel_format, "Video pixel format, e.g. yuv420p (default for h264/h265/vp9/"
                                                    "av1), yuv444p, rgb24, gbrp.");
  app.add_option("--gif-dither", o.video.gif_dither, "GIF dithering: sierra2_4a (default), floyd_steinberg, "
                                                     "bayer, heckbert, sierra2, none.")
      ->check(CLI::IsMember({"sierra2_4a", "floyd_steinberg", "bayer", "heckbert", "sierra2", "none"}));
  app.add_flag("--no-audio", o.no_audio, "Leave out the input's audio and subtitle streams (default: carried "
                                         "over, copied where the container takes them, else audio re-encoded).");
  app.add_flag("--keep-going", o.keep_going, "Pass over frames of a damaged or cut-short input that do not "
                                             "decode, with a warning, instead of stopping with an error.");
}

// The frame job's options from the command's, checked: the range, --no-frames against the options that
// write frames, the frame images' format.
FrameJobOptions frame_job_options(const ImageProcessOptions& options) {
  FrameJobOptions frames;
  frames.frame_start = options.frame_start;
  frames.frame_end = options.frame_end;
  if (options.frame_end && *options.frame_end < options.frame_start)
    throw Error("--frame-end " + std::to_string(*options.frame_end) + " is before --frame-start " +
                std::to_string(options.frame_start));
  if (options.no_frames && (options.no_animation_file || options.frames))
    throw Error(std::string("--no-frames cannot be used with ") +
                (options.no_animation_file ? "--no-animation-file" : "--frames"));
  frames.write_animation = !options.no_animation_file;
  frames.write_frames =
      !options.no_frames && (options.frames || options.no_animation_file || !options.frame_format.empty());
  if (!options.frame_format.empty()) {
    if (!is_image_extension("." + options.frame_format))
      throw Error("--frame-format: expected png, jpg, jpeg, webp, bmp, tif or tiff, got \"" + options.frame_format +
                  "\"");
    frames.frame_format = options.frame_format;
  }
  frames.overwrite = options.overwrite;
  frames.keep_going = options.keep_going;
  frames.keep_audio = !options.no_audio;
  frames.animation = {options.quality, options.lossless, options.video};
  frames.frame_images = {options.quality, options.lossless};
  return frames;
}

// The chain on one picture: processors that run before resizing, the resize, then the others.
class ProcessorChain {
 public:
  explicit ProcessorChain(const ImageProcessOptions& options) : options_(options) {
    for (const std::string& uri : options.processors) processors_.push_back(create_processor(uri, options.device));
  }

  Image apply(Image image, const ProgressCallback& progress) {
    for (auto& processor : processors_)
      if (processor->runs_before_resize()) image = processor->apply(image, progress);
    const auto [width, height] = resized_size(image.width, image.height, options_.resize ? &*options_.resize : nullptr,
                                              !options_.no_aspect, options_.align);
    if (width != image.width || height != image.height)
      image = resize_image(image, width, height, ResizeFilter::Lanczos);
    for (auto& processor : processors_)
      if (!processor->runs_before_resize()) image = processor->apply(image, progress);
    return image;
  }

 private:
  const ImageProcessOptions& options_;
  std::vector<std::unique_ptr<Processor>> processors_;
};

void process_still(const PlannedOutput& job, ProcessorChain& chain, const ImageWriteOptions& write_options) {
  ProgressBar bar("tiles");
  const Image image = chain.apply(read_image(job.input), [&bar](int64_t done, int64_t total) {
    throw_if_interrupted();
    bar.update(done, total);
  });
  bar.finish();
  write_image(image, job.output, write_options);
  std::cout << "image-process: wrote \"" << job.output << "\" (" << image.width << "x" << image.height << ")\n";
}

// The line that says what was written, then the writer's notes and the damage passed over.
void report_frames(const PlannedOutput& job, const FrameJobResult& result, const FrameJobOptions& options) {
  const double rate = result.times.wall_seconds > 0 ? result.frames / result.times.wall_seconds : 0;
  const double processing = result.times.wall_seconds > 0 ? result.times.process_seconds / result.times.wall_seconds : 0;
  char timing[96];
  std::snprintf(timing, sizeof timing, "%.2f frames/s, %.0f%% of the time in the processors", rate, 100 * processing);
  const std::string what = options.write_animation ? "\"" + job.output + "\"" : "the frames of \"" + job.input + "\"";
  std::cout << "image-process: wrote " << what << " (" << result.frames << " frames, " << result.width << "x"
            << result.height << "; " << timing << ")\n";
  if (options.write_frames)
    std::cout << "image-process: frame images \"" << frame_image_path(job.output, 1, options.frame_format)
              << "\" to \"" << frame_image_path(job.output, result.frames, options.frame_format) << "\"\n";
  for (const std::string& note : result.notes) std::cout << "image-process: " << job.output << ": " << note << "\n";
  for (const std::string& warning : result.warnings)
    std::cerr << "image-process: warning: " << warning << "; went on (--keep-going)\n";
}

void process_animation(const PlannedOutput& job, ProcessorChain& chain, const FrameJobOptions& frame_options) {
  const auto check_interrupt = [](int64_t, int64_t) { throw_if_interrupted(); };
  ProgressBar bar("frames");
  const FrameJobResult result = process_frames(
      job, [&](Image image) { return chain.apply(std::move(image), check_interrupt); }, frame_options,
      [&bar](int64_t done, int64_t total) { bar.update(done, total); });
  bar.finish();
  report_frames(job, result, frame_options);
}

}  // namespace image_process

std::vector<std::string> expand_short_aliases(const std::vector<std::string>& args) {
  static const std::map<std::string, std::string> aliases = {
      {"-ox", "--output-overwrite"}, {"-na", "--no-aspect"}, {"-al", "--align"}, {"-fs", "--frame-start"},
      {"-fe", "--frame-end"},         {"-nf", "--no-frames"}, {"-naf", "--no-animation-file"},
      {"-ff", "--frame-format"},
  };
  return expand_aliases(args, aliases);
}

ImageProcessOptions parse_image_process(const std::vector<std::string>& args) {
  CLI::App app{"Process images, animations and videos with a chain of image processors (upscalers).",
               "image-process"};
  ImageProcessOptions options;
  image_process::RawOptions raw;
  image_process::add_job_options(app, options, raw);
  image_process::add_frame_options(app, options, raw);
  image_process::add_video_options(app, options);
  parse_command_line(app, expand_short_aliases(args));
  if (raw.frame_end >= 0) options.frame_end = raw.frame_end;
  // The device before the resize, the order in which the command has always reported them.
  parse_device(options.device, "--device");
  if (!raw.resize.empty()) options.resize = image_process::parse_resize(raw.resize);
  return options;
}

void run_image_process(const ImageProcessOptions& options) {
  // LibTorch's own default can be a single thread (Debian's build on some virtual machines): all cores instead.
  torch::set_num_threads(options.threads > 0 ? options.threads
                                             : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  parse_device(options.device, "--device");
  const FrameJobOptions frame_options = image_process::frame_job_options(options);
  const std::vector<PlannedOutput> plan =
      plan_outputs(expand_inputs(options.inputs), options.outputs, options.overwrite);
  image_process::ProcessorChain chain(options);
  for (const PlannedOutput& job : plan) {
    create_parent_folders(job.output);
    if (is_animation_or_video(job.input))
      image_process::process_animation(job, chain, frame_options);
    else
      image_process::process_still(job, chain, frame_options.frame_images);
  }
}

int image_process_main(const std::vector<std::string>& args) {
  try {
    run_image_process(parse_image_process(args));
    return 0;
  } catch (const HelpRequested& help) {
    std::cout << help.text();
    return help.status();
  } catch (const std::exception& e) {
    std::cerr << "image-process: error: " << one_line_message(e) << "\n";
    return 1;
  }
}

}  // namespace uprez
