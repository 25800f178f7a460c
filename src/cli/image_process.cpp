#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <tuple>

#include "cli/commands.h"
#include "cli/output_plan.h"
#include "cli/progress_bar.h"
#include "core/device.h"
#include "core/error.h"
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

// Streams the frames of an animation or video through `process` into an output of the same kind, one frame at
// a time, keeping every frame's time; returns the frame count and the output size.
template <typename Process>
std::tuple<int64_t, int, int> process_frames(const PlannedOutput& job, const Process& process,
                                             const AnimationWriteOptions& options) {
  const std::string extension = std::filesystem::path(job.output).extension().string();
  if (!is_animation_extension(extension))
    throw Error(job.output + ": " + job.input + " is an animation or video, so the output must be one too (.webp, "
                ".gif, .apng, .mp4, .mkv, .webm, .mov or .avi), not \"" + extension + "\"");
  const std::unique_ptr<FrameReader> reader = open_frames(job.input);
  std::unique_ptr<FrameWriter> writer;
  ProgressBar bar("frames");
  int64_t frames = 0;
  int width = 0, height = 0;
  while (std::optional<Frame> frame = reader->next()) {
    frame->image = process(std::move(frame->image), {});
    if (!writer) {
      StreamInfo info = reader->info();
      width = info.width = frame->image.width;
      height = info.height = frame->image.height;
      info.has_alpha = frame->image.has_alpha();
      writer = create_frames_writer(job.output, info, options);
    }
    writer->write(*frame);
    ++frames;
    bar.update(frames, std::max(frames, reader->info().frame_count));
  }
  writer->finish();
  bar.finish();
  return {frames, width, height};
}

}  // namespace

std::vector<std::string> expand_short_aliases(const std::vector<std::string>& args) {
  static const std::map<std::string, std::string> aliases = {
      {"-ox", "--output-overwrite"}, {"-na", "--no-aspect"}, {"-al", "--align"},
  };
  std::vector<std::string> expanded;
  for (const std::string& arg : args) {
    const auto it = aliases.find(arg);
    expanded.push_back(it == aliases.end() ? arg : it->second);
  }
  return expanded;
}

int run_image_process(const std::vector<std::string>& raw_args) {
  CLI::App app{"Process still images with a chain of image processors (upscalers).", "image-process"};
  std::vector<std::string> inputs, processors, outputs;
  bool overwrite = false, no_aspect = false;
  std::string resize, device = default_device_name();
  int align = 1, quality = 95, threads = 0;
  app.add_option("input", inputs, "Input images, or folders of images (their supported files, sorted).")->required();
  app.add_option("-p,--processors", processors, "Image processor URIs, chained in order; see --image-processor-help.")
      ->expected(1, -1);
  app.add_option("-o,--output", outputs,
                 "Output files, one per input, or one folder ending in '/'. Default: <stem>_processed_<i><ext> "
                 "beside the input. The format follows the extension (png, jpg, webp, bmp, tif).")
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
  app.add_option("--threads", threads, "CPU threads (default: all cores).")->check(CLI::Range(1, 1024));

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
    if (threads > 0) torch::set_num_threads(threads);
    parse_device(device, "--device");
    std::optional<ResizeRequest> resize_request;
    if (!resize.empty()) resize_request = parse_resize(resize);
    const std::vector<PlannedOutput> plan = plan_outputs(expand_inputs(inputs), outputs, overwrite);

    std::vector<std::unique_ptr<Processor>> chain;
    for (const std::string& uri : processors) chain.push_back(create_processor(uri, device));

    ImageWriteOptions write_options;
    write_options.quality = quality;
    AnimationWriteOptions animation_options;
    animation_options.quality = quality;
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
    for (const PlannedOutput& job : plan) {
      create_parent_folders(job.output);
      if (is_animation_or_video(job.input)) {
        const auto [frames, width, height] = process_frames(job, process, animation_options);
        std::cout << "image-process: wrote \"" << job.output << "\" (" << frames << " frames, " << width << "x"
                  << height << ")\n";
        continue;
      }
      ProgressBar bar("tiles");
      const Image image =
          process(read_image(job.input), [&bar](int64_t done, int64_t total) { bar.update(done, total); });
      bar.finish();
      write_image(image, job.output, write_options);
      std::cout << "image-process: wrote \"" << job.output << "\" (" << image.width << "x" << image.height << ")\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "image-process: error: " << one_line_message(e) << "\n";
    return 1;
  }
  return 0;
}

}  // namespace uprez
