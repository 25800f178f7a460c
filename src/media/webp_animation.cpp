#include "media/webp_animation.h"

#include <webp/demux.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/file_bytes.h"

namespace uprez {

namespace webp_animation {

constexpr Rational kMilliseconds{1, 1000};
constexpr uint64_t kMaxFileBytes = uint64_t{1} << 31;

class WebpAnimationReader final : public FrameReader {
 public:
  explicit WebpAnimationReader(std::string path)
      : path_(std::move(path)), bytes_(read_file_bytes(path_, kMaxFileBytes, "a WebP file")) {
    const WebPData data{bytes_.data(), bytes_.size()};
    WebPAnimDecoderOptions options;
    if (!WebPAnimDecoderOptionsInit(&options)) throw Error(path_ + ": libwebp version mismatch");
    options.color_mode = MODE_RGBA;
    options.use_threads = 0;
    decoder_ = WebPAnimDecoderNew(&data, &options);
    if (decoder_ == nullptr) throw Error(path_ + ": invalid WebP: malformed or truncated file");
    WebPAnimInfo anim;
    if (!WebPAnimDecoderGetInfo(decoder_, &anim)) throw Error(path_ + ": invalid WebP: no animation info");
    info_.width = static_cast<int>(anim.canvas_width);
    info_.height = static_cast<int>(anim.canvas_height);
    info_.time_base = kMilliseconds;
    info_.frame_count = anim.frame_count;
    info_.loop_count = static_cast<int>(anim.loop_count);
    info_.has_alpha = has_alpha(WebPAnimDecoderGetDemuxer(decoder_));
    check_frame_size(info_, path_);
  }
  ~WebpAnimationReader() override { WebPAnimDecoderDelete(decoder_); }

  const StreamInfo& info() const override { return info_; }

  std::optional<Frame> next() override {
    if (failed_ || !WebPAnimDecoderHasMoreFrames(decoder_)) return std::nullopt;
    uint8_t* canvas = nullptr;
    int end_time = 0;
    failed_ = !WebPAnimDecoderGetNext(decoder_, &canvas, &end_time);  // libwebp cannot go on after a bad frame
    if (failed_)
      throw Error(path_ + ": invalid WebP: frame " + std::to_string(frames_read_ + 1) + " does not decode");
    ++frames_read_;
    Frame frame;
    frame.image = Image(info_.width, info_.height, info_.has_alpha ? 4 : 3, 8);
    const size_t pixels = static_cast<size_t>(info_.width) * info_.height;
    if (info_.has_alpha) {
      std::memcpy(frame.image.data.data(), canvas, pixels * 4);
    } else {
      for (size_t i = 0; i < pixels; ++i) std::memcpy(&frame.image.data[i * 3], canvas + i * 4, 3);
    }
    frame.pts = start_time_;
    frame.duration = std::max(0, end_time - start_time_);
    start_time_ = end_time;
    return frame;
  }

 private:
  // Whether the composed canvas can be transparent anywhere: the alpha flag, a frame with alpha, or a frame that
  // does not cover the canvas (libwebp's encoder leaves the flag unset when only such frames make transparency).
  bool has_alpha(const WebPDemuxer* demuxer) const {
    if (WebPDemuxGetI(demuxer, WEBP_FF_FORMAT_FLAGS) & ALPHA_FLAG) return true;
    WebPIterator frame;
    if (!WebPDemuxGetFrame(demuxer, 1, &frame)) throw Error(path_ + ": invalid WebP: no image frame");
    bool alpha = false;
    do {
      alpha = alpha || frame.has_alpha || frame.x_offset != 0 || frame.y_offset != 0 || frame.width != info_.width ||
              frame.height != info_.height;
    } while (!alpha && WebPDemuxNextFrame(&frame));
    WebPDemuxReleaseIterator(&frame);
    return alpha;
  }

  std::string path_;
  std::vector<uint8_t> bytes_;  // the decoder reads from them
  WebPAnimDecoder* decoder_ = nullptr;
  StreamInfo info_;
  int start_time_ = 0;
  int frames_read_ = 0;
  bool failed_ = false;
};

class WebpAnimationWriter final : public FrameWriter {
 public:
  WebpAnimationWriter(std::string path, const StreamInfo& info, const WebpAnimationOptions& options)
      : path_(std::move(path)), info_(info) {
    if (options.quality < 1 || options.quality > 100)
      throw Error(path_ + ": quality " + std::to_string(options.quality) + " is out of range (1-100)");
    if (info.width < 1 || info.height < 1 || info.width > WEBP_MAX_DIMENSION || info.height > WEBP_MAX_DIMENSION)
      throw Error(path_ + ": WebP cannot hold " + std::to_string(info.width) + "x" + std::to_string(info.height) +
                  " frames (at most " + std::to_string(WEBP_MAX_DIMENSION) + " pixels a side)");
    if (!WebPConfigInit(&config_)) throw Error(path_ + ": libwebp version mismatch");
    config_.lossless = options.lossless ? 1 : 0;
    config_.quality = options.lossless ? 75.f : static_cast<float>(options.quality);
    WebPAnimEncoderOptions encoder_options;
    if (!WebPAnimEncoderOptionsInit(&encoder_options)) throw Error(path_ + ": libwebp version mismatch");
    encoder_options.anim_params.loop_count = std::max(0, info.loop_count);
    encoder_ = WebPAnimEncoderNew(info.width, info.height, &encoder_options);
    if (encoder_ == nullptr) throw Error(path_ + ": cannot start a WebP animation");
  }
  ~WebpAnimationWriter() override { WebPAnimEncoderDelete(encoder_); }

  void write(const Frame& frame) override {
    const Image& image = frame.image;
    if (image.width != info_.width || image.height != info_.height)
      throw Error(path_ + ": frame " + std::to_string(frames_ + 1) + " is " + std::to_string(image.width) + "x" +
                  std::to_string(image.height) + ", the animation " + std::to_string(info_.width) + "x" +
                  std::to_string(info_.height));
    Image storage;
    const Image& rgba = with_layout(image, 4, 8, storage);
    WebPPicture picture;
    if (!WebPPictureInit(&picture)) throw Error(path_ + ": libwebp version mismatch");
    picture.width = image.width;
    picture.height = image.height;
    picture.use_argb = 1;
    struct PictureFree {
      WebPPicture* picture;
      ~PictureFree() { WebPPictureFree(picture); }
    } free_picture{&picture};
    if (!WebPPictureImportRGBA(&picture, rgba.data.data(), image.width * 4)) throw Error(path_ + ": out of memory");
    const int timestamp = static_cast<int>(rescale(frame.pts, info_.time_base, kMilliseconds));
    if (!WebPAnimEncoderAdd(encoder_, &picture, timestamp, &config_))
      throw Error(path_ + ": cannot encode frame " + std::to_string(frames_ + 1) + ": " +
                  WebPAnimEncoderGetError(encoder_));
    end_time_ = static_cast<int>(rescale(frame.pts + frame.duration, info_.time_base, kMilliseconds));
    ++frames_;
  }

  void finish() override {
    if (frames_ == 0) throw Error(path_ + ": an animation needs at least one frame");
    if (!WebPAnimEncoderAdd(encoder_, nullptr, end_time_, nullptr))
      throw Error(path_ + ": cannot end the animation: " + WebPAnimEncoderGetError(encoder_));
    WebPData data;
    WebPDataInit(&data);
    if (!WebPAnimEncoderAssemble(encoder_, &data))
      throw Error(path_ + ": cannot assemble the animation: " + WebPAnimEncoderGetError(encoder_));
    struct DataFree {
      WebPData* data;
      ~DataFree() { WebPDataClear(data); }
    } free_data{&data};
    AtomicFile file(path_);
    if (std::fwrite(data.bytes, 1, data.size, file.stream()) != data.size) throw Error(path_ + ": write failed");
    file.commit();
  }

 private:
  std::string path_;
  StreamInfo info_;
  WebPConfig config_;
  WebPAnimEncoder* encoder_ = nullptr;
  int frames_ = 0;
  int end_time_ = 0;
};

}  // namespace webp_animation

std::unique_ptr<FrameReader> open_webp_animation(const std::string& path) {
  return std::make_unique<webp_animation::WebpAnimationReader>(path);
}

std::unique_ptr<FrameWriter> create_webp_animation(const std::string& path, const StreamInfo& info,
                                                   const WebpAnimationOptions& options) {
  return std::make_unique<webp_animation::WebpAnimationWriter>(path, info, options);
}

}  // namespace uprez
