#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <thread>
#include <tuple>

#include "cli/commands.h"
#include "cli/frame_job.h"
#include "cli/output_plan.h"
#include "cli/progress_bar.h"
#include "core/device.h"
#include "core/error.h"
#include "core/interrupt.h"
#include "core/output_path.h"
#include "image/image_io.h"
#include "image/resize.h"
#include "media/media_file.h"
#include "processors/processor.h"

namespace uprez {

namespace {

struct ResizeRequest {
  int width = 0;
  int height = 0;  // 0: keep the aspect ratio from width
};

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

}  // namespace

std::vector<std::string> expand_short_aliases(const std::vector<std::string>& args) {
  static const std::map<std::string, std::string> aliases = {
      {"-ox", "--output-overwrite"}, {"-na", "--no-aspect"}, {"-al", "--align"}, {"-fs", "--frame-start"},
      {"-fe", "--frame-end"},         {"-nf", "--no-frames"}, {"-naf", "--no-animation-file"},
      {"-ff", "--frame-format"},
  };
  std::vector<std::string> expanded;
  for (const std::string& arg : args) {
    const auto it = aliases.find(arg);
    expanded.push_back(it == aliases.end() ? arg : it->second);
  }
  return expanded;
}

int run_image_process(const std::vector<std::string>& raw_args) {
  CLI::App app{"Process images, animations and videos with a chain of image processors (upscalers).",
               "image-process"};
  std::vector<std::string> inputs, processors, outputs;
  bool overwrite = false, no_aspect = false, no_frames = false, no_animation_file = false, frames = false;
  bool keep_going = false, no_audio = false, lossless = false;
  std::string resize, device = default_device_name(), frame_format;
  int align = 1, quality = 95, threads = 0;
  int64_t frame_start = 0, frame_end = -1;
  VideoEncodeOptions video;
  app.add_option("input", inputs, "Input images, animations (GIF, WebP, APNG) and videos, or folders of them "
                                  "(their supported files, sorted).")
      ->required();
  app.add_option("-p,--processors", processors, "Image processor URIs, chained in order; see --image-processor-help.")
      ->expected(1, -1);
  app.add_option("-o,--output", outputs,
                 "Output files, one per input, or one folder ending in '/'. Default: <stem>_processed_<i><ext> "
                 "beside the input. The format follows the extension: png, jpg, webp, bmp, tif for images; webp, "
                 "gif, apng, mp4, mkv, webm, mov, avi for animations and videos (an animated input needs one).")
      ->expected(1, -1);
  app.add_flag("--output-overwrite", overwrite,
               "(-ox) Overwrite existing outputs instead of adding _duplicate_<k>; an input is replaced only when "
               "-o names it.");
  app.add_option("-r,--resize", resize, "Resize to WIDTHxHEIGHT or WIDTH (Lanczos), between processors that run "
                                        "before resizing (pre-resize=true) and the others.");
  app.add_flag("--no-aspect", no_aspect, "(-na) Make --resize ignore the aspect ratio.");
  app.add_option("--align", align, "(-al) Align image sizes down to a multiple of this (default 1: unchanged; "
                                   "dgenerate's default is 8).")
      ->check(CLI::Range(1, 4096));
  app.add_option("-d,--device", device, "Device: cpu, cuda or cuda:N (default: cuda when available, else cpu).");
  app.add_option("--quality", quality, "JPEG/WebP quality, 1-100 (default 95).")->check(CLI::Range(1, 100));
  app.add_flag("--lossless", lossless, "Write WebP images and animations losslessly.");
  app.add_option("--threads", threads, "CPU threads (default: all cores).")->check(CLI::Range(1, 1024));
  app.add_option("--frame-start", frame_start, "(-fs) First frame of animations and videos to process, 0-based "
                                               "(default 0); the frames before it are passed over, not processed.")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app.add_option("--frame-end", frame_end, "(-fe) Last frame to process, 0-based, inclusive (default: the last).")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 40));
  app.add_flag("--frames", frames, "Also write every processed frame as an image, <output stem>_frame_<j>.<ext> "
                                   "(j from 1). Off by default, unlike dgenerate.");
  app.add_option("--frame-format", frame_format, "(-ff) The frame images' format: png (default), jpg, webp, bmp, "
                                                 "tif; implies --frames unless -nf.");
  app.add_flag("--no-frames", no_frames, "(-nf) Write no frame images (the default; kept for dgenerate's commands).");
  app.add_flag("--no-animation-file", no_animation_file,
               "(-naf) Write only the frame images, no animation or video file.");
  app.add_option("--codec", video.codec, "Video encoder: h264 (mp4, mkv, mov, avi default), h265, vp9 (webm "
                                         "default), av1, ffv1 (lossless), or any FFmpeg encoder name.");
  app.add_option("--crf", video.crf, "Constant quality for h264/h265/vp9/av1, lower is better (default 18).")
      ->check(CLI::Range(0, 63));
  app.add_option("--bitrate", video.bitrate, "Video bit rate in bits/s instead of constant quality (e.g. 8000000).")
      ->check(CLI::Range(int64_t{1000}, int64_t{1} << 36));
  app.add_option("--preset", video.preset, "Encoder speed against file size: ultrafast ... medium (x264/x265 "
                                           "default) ... veryslow; 0-13 for SVT-AV1.");
  app.add_option("--pix-fmt", video.pixel_format, "Video pixel format, e.g. yuv420p (default for h264/h265/vp9/"
                                                  "av1), yuv444p, rgb24, gbrp.");
  app.add_option("--gif-dither", video.gif_dither, "GIF dithering: sierra2_4a (default), floyd_steinberg, bayer, "
                                                   "heckbert, sierra2, none.")
      ->check(CLI::IsMember({"sierra2_4a", "floyd_steinberg", "bayer", "heckbert", "sierra2", "none"}));
  app.add_flag("--no-audio", no_audio, "Leave out the input's audio and subtitle streams (default: carried over, "
                                       "copied where the container takes them, else audio re-encoded).");
  app.add_flag("--keep-going", keep_going, "Pass over frames of a damaged or cut-short input that do not decode, "
                                           "with a warning, instead of stopping with an error.");

  std::vector<std::string> args = expand_short_aliases(raw_args);
  std::reverse(args.begin(), args.end());
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp& e) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << "image-process: error: " << e.what() << "\n";
    return 1;
  }

  try {
    // LibTorch's own default can be a single thread (Debian's build on some virtual machines): all cores instead.
    torch::set_num_threads(threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    parse_device(device, "--device");
    std::optional<ResizeRequest> resize_request;
    if (!resize.empty()) resize_request = parse_resize(resize);
    FrameJobOptions frame_options;
    frame_options.frame_start = frame_start;
    if (frame_end >= 0) frame_options.frame_end = frame_end;
    if (frame_end >= 0 && frame_end < frame_start)
      throw Error("--frame-end " + std::to_string(frame_end) + " is before --frame-start " +
                  std::to_string(frame_start));
    if (no_frames && (no_animation_file || frames))
      throw Error(std::string("--no-frames cannot be used with ") +
                  (no_animation_file ? "--no-animation-file" : "--frames"));
    frame_options.write_animation = !no_animation_file;
    frame_options.write_frames = !no_frames && (frames || no_animation_file || !frame_format.empty());
    if (!frame_format.empty()) {
      if (!is_image_extension("." + frame_format))
        throw Error("--frame-format: expected png, jpg, jpeg, webp, bmp, tif or tiff, got \"" + frame_format + "\"");
      frame_options.frame_format = frame_format;
    }
    frame_options.overwrite = overwrite;
    frame_options.keep_going = keep_going;
    frame_options.keep_audio = !no_audio;
    frame_options.animation = {quality, lossless, video};
    frame_options.frame_images = {quality, lossless};
    const std::vector<PlannedOutput> plan = plan_outputs(expand_inputs(inputs), outputs, overwrite);

    std::vector<std::unique_ptr<Processor>> chain;
    for (const std::string& uri : processors) chain.push_back(create_processor(uri, device));

    // The chain on one picture: processors that run before resizing, the resize, then the others.
    const auto process = [&](Image image, const ProgressCallback& progress) {
      for (auto& processor : chain)
        if (processor->runs_before_resize()) image = processor->apply(image, progress);
      const auto [width, height] = resized_size(image.width, image.height,
                                                resize_request ? &*resize_request : nullptr, !no_aspect, align);
      if (width != image.width || height != image.height)
        image = resize_image(image, width, height, ResizeFilter::Lanczos);
      for (auto& processor : chain)
        if (!processor->runs_before_resize()) image = processor->apply(image, progress);
      return image;
    };
    const auto check_interrupt = [](int64_t, int64_t) { throw_if_interrupted(); };
    for (const PlannedOutput& job : plan) {
      create_parent_folders(job.output);
      if (is_animation_or_video(job.input)) {
        ProgressBar bar("frames");
        const FrameJobResult result = process_frames(
            job, [&](Image image) { return process(std::move(image), check_interrupt); }, frame_options,
            [&bar](int64_t done, int64_t total) { bar.update(done, total); });
        bar.finish();
        report_frames(job, result, frame_options);
        continue;
      }
      ProgressBar bar("tiles");
      const Image image = process(read_image(job.input), [&bar](int64_t done, int64_t total) {
        throw_if_interrupted();
        bar.update(done, total);
      });
      bar.finish();
      write_image(image, job.output, frame_options.frame_images);
      std::cout << "image-process: wrote \"" << job.output << "\" (" << image.width << "x" << image.height << ")\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "image-process: error: " << one_line_message(e) << "\n";
    return 1;
  }
  return 0;
}

}  // namespace uprez
