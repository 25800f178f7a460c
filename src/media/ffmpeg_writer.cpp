#include "media/ffmpeg_writer.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <map>
#include <vector>

#include "core/atomic_file.h"
#include "core/error.h"
#include "media/ffmpeg_common.h"
#include "media/gif_palette.h"

namespace uprez {

namespace ffmpeg_writer {

// The encoder for a name or alias: h264, h265/hevc, vp9 and av1 map to the libraries Debian's FFmpeg has.
const AVCodec* find_encoder(const std::string& name) {
  const std::map<std::string, std::vector<const char*>> aliases = {
      {"h264", {"libx264", "h264"}},      {"h265", {"libx265", "hevc"}}, {"hevc", {"libx265", "hevc"}},
      {"vp9", {"libvpx-vp9", "vp9"}},     {"av1", {"libsvtav1", "libaom-av1", "librav1e"}},
  };
  const auto alias = aliases.find(name);
  if (alias == aliases.end()) return avcodec_find_encoder_by_name(name.c_str());
  for (const char* candidate : alias->second)
    if (const AVCodec* codec = avcodec_find_encoder_by_name(candidate)) return codec;
  return nullptr;
}

bool is_yuv_video_codec(const AVCodec* codec) {
  return codec->id == AV_CODEC_ID_H264 || codec->id == AV_CODEC_ID_HEVC || codec->id == AV_CODEC_ID_VP9 ||
         codec->id == AV_CODEC_ID_AV1;
}

class FfmpegVideoWriter final : public FrameWriter {
 public:
  FfmpegVideoWriter(const std::string& path, const StreamInfo& info, const VideoEncodeOptions& options)
      : file_(path), info_(info) {
    try {
      open(options);
    } catch (...) {
      release();
      throw;
    }
  }

  ~FfmpegVideoWriter() override { release(); }

  void write(const Frame& frame) override {
    const std::string& target = file_.target();
    if (frame.image.width != info_.width || frame.image.height != info_.height)
      throw Error(target + ": frame " + std::to_string(frames_ + 1) + " is " + std::to_string(frame.image.width) +
                  "x" + std::to_string(frame.image.height) + ", the video " + std::to_string(info_.width) + "x" +
                  std::to_string(info_.height));
    Image storage;
    const Image& rgb = with_layout(frame.image, info_.has_alpha ? 4 : 3, 8, storage);
    av_frame_unref(frame_);
    const AVPixelFormat frame_format = palette_ ? source_format() : encoder_->pix_fmt;
    frame_->format = frame_format;
    frame_->width = info_.width;
    frame_->height = info_.height;
    int status = av_frame_get_buffer(frame_, 0);
    if (status < 0) throw Error(target + ": out of memory");
    scaler_ = sws_getCachedContext(scaler_, info_.width, info_.height, source_format(), info_.width, info_.height,
                                   frame_format, SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, nullptr,
                                   nullptr, nullptr);
    if (scaler_ == nullptr) throw Error(target + ": cannot convert frames to " + av_get_pix_fmt_name(frame_format));
    const int* bt709 = sws_getCoefficients(SWS_CS_ITU709);
    sws_setColorspaceDetails(scaler_, bt709, 1, bt709, encoder_->color_range == AVCOL_RANGE_JPEG ? 1 : 0, 0,
                             1 << 16, 1 << 16);
    const uint8_t* planes[4] = {rgb.data.data(), nullptr, nullptr, nullptr};
    const int strides[4] = {static_cast<int>(rgb.row_bytes()), 0, 0, 0};
    sws_scale(scaler_, planes, strides, 0, info_.height, frame_->data, frame_->linesize);
    // Rounded onto the encoder's ticks, never before or on the previous frame's.
    frame_->pts = std::max(rescale(frame.pts, info_.time_base, time_base_), next_pts_);
    frame_->pkt_duration = std::max<int64_t>(1, rescale(frame.duration, info_.time_base, time_base_));
    next_pts_ = frame_->pts + 1;
    video_end_ = frame_->pts + frame_->pkt_duration;
    if (side_streams_) side_streams_->write_until(seconds(frame_->pts));
    durations_[frame_->pts] = frame_->pkt_duration;
    last_duration_ = frame_->pkt_duration;
    if (palette_)
      encode_through_palette(frame_);
    else
      encode(frame_);
    ++frames_;
  }

  void finish() override {
    if (frames_ == 0) throw Error(file_.target() + ": a video needs at least one frame");
    if (palette_) encode_through_palette(nullptr);
    encode(nullptr);
    if (side_streams_) side_streams_->finish(seconds(video_end_));
    // GIF times the last frame by the muxer's final delay, in centiseconds.
    if (format_->oformat->video_codec == AV_CODEC_ID_GIF)
      av_opt_set_int(format_->priv_data, "final_delay", rescale(last_duration_, time_base_, {1, 100}), 0);
    // APNG times the last frame by the muxer's final delay (the others by the next frame's start).
    if (format_->oformat->video_codec == AV_CODEC_ID_APNG)
      av_opt_set_q(format_->priv_data, "final_delay",
                   av_make_q(static_cast<int>(last_duration_ * time_base_.num), static_cast<int>(time_base_.den)),
                   0);
    const int status = av_write_trailer(format_);
    if (status < 0) throw Error(file_.target() + ": cannot finish the file: " + ffmpeg_error(status));
    avio_closep(&format_->pb);
    file_.commit();
  }

  std::vector<std::string> notes() const override {
    return side_streams_ ? side_streams_->notes() : std::vector<std::string>{};
  }

 private:
  void open(const VideoEncodeOptions& options) {
    quiet_ffmpeg_logs();
    const std::string& target = file_.target();
    const AVOutputFormat* container = av_guess_format(nullptr, target.c_str(), nullptr);
    const std::string extension = target.substr(target.find_last_of('.') + 1);
    if (extension == "apng" || extension == "png") container = av_guess_format("apng", nullptr, nullptr);
    if (container == nullptr) throw Error(target + ": no video container has the extension ." + extension);
    int status = avformat_alloc_output_context2(&format_, container, nullptr, file_.temporary_path().c_str());
    if (status < 0) throw Error(target + ": cannot start the container: " + ffmpeg_error(status));

    const std::string codec_name = !options.codec.empty() ? options.codec
                                   : container->video_codec == AV_CODEC_ID_APNG ? "apng"
                                   : container->video_codec == AV_CODEC_ID_GIF  ? "gif"
                                   : container->video_codec == AV_CODEC_ID_VP9 || extension == "webm" ? "vp9"
                                                                                                      : "h264";
    const AVCodec* codec = find_encoder(codec_name);
    if (codec == nullptr) throw Error(target + ": unknown or unavailable encoder \"" + codec_name + "\"");
    stream_ = avformat_new_stream(format_, nullptr);
    encoder_ = avcodec_alloc_context3(codec);
    if (stream_ == nullptr || encoder_ == nullptr) throw Error(target + ": out of memory");
    encoder_->width = info_.width;
    encoder_->height = info_.height;
    // Constant-rate video: one tick per frame (timestamps that a container rounded, such as mkv's milliseconds,
    // land on the exact grid). Otherwise the frames' own time base, except where APNG's 16-bit delay fractions
    // cannot hold it (milliseconds then).
    const bool apng = codec->id == AV_CODEC_ID_APNG;
    const bool fits = info_.time_base.num <= 65535 && info_.time_base.den <= 65535;
    if (codec->id == AV_CODEC_ID_GIF)
      time_base_ = {1, 100};  // GIF delays are centiseconds
    else if (info_.constant_frame_rate && info_.frame_rate.num > 0 && !apng)
      time_base_ = {info_.frame_rate.den, info_.frame_rate.num};
    else
      time_base_ = apng && !fits ? Rational{1, 1000} : info_.time_base;
    encoder_->time_base = {static_cast<int>(time_base_.num), static_cast<int>(time_base_.den)};
    const bool constant_rate = info_.constant_frame_rate && info_.frame_rate.num > 0;
    if (constant_rate)
      encoder_->framerate = {static_cast<int>(info_.frame_rate.num), static_cast<int>(info_.frame_rate.den)};
    encoder_->pix_fmt = choose_pixel_format(codec, options.pixel_format);
    const bool yuv = (av_pix_fmt_desc_get(encoder_->pix_fmt)->flags & AV_PIX_FMT_FLAG_RGB) == 0 &&
                     av_pix_fmt_desc_get(encoder_->pix_fmt)->nb_components >= 3;
    if (yuv) {  // BT.709, limited range: what players assume for HD video
      encoder_->colorspace = AVCOL_SPC_BT709;
      encoder_->color_primaries = AVCOL_PRI_BT709;
      encoder_->color_trc = AVCOL_TRC_BT709;
      encoder_->color_range = AVCOL_RANGE_MPEG;
    }
    if (options.bitrate > 0) encoder_->bit_rate = options.bitrate;
    const int crf = options.crf >= 0 ? options.crf : (is_yuv_video_codec(codec) && options.bitrate == 0 ? 18 : -1);
    if (crf >= 0 && av_opt_set_int(encoder_->priv_data, "crf", crf, 0) < 0)
      throw Error(target + ": the " + codec->name + " encoder has no crf setting");
    if (!options.preset.empty()) set_preset(codec, options.preset);
    if (format_->oformat->flags & AVFMT_GLOBALHEADER) encoder_->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    status = avcodec_open2(encoder_, codec, nullptr);
    if (status < 0)
      throw Error(target + ": the " + codec->name + " encoder refuses these settings: " + ffmpeg_error(status));
    status = avcodec_parameters_from_context(stream_->codecpar, encoder_);
    if (status < 0) throw Error(target + ": " + ffmpeg_error(status));
    stream_->time_base = encoder_->time_base;
    if (constant_rate) stream_->avg_frame_rate = stream_->r_frame_rate = encoder_->framerate;
    if (container->video_codec == AV_CODEC_ID_APNG)
      av_opt_set_int(format_->priv_data, "plays", std::max(0, info_.loop_count), 0);
    if (container->video_codec == AV_CODEC_ID_GIF)  // plays N times = loops N - 1 more (-1: once), 0 = forever
      av_opt_set_int(format_->priv_data, "loop",
                     info_.loop_count <= 0 ? 0 : info_.loop_count == 1 ? -1 : info_.loop_count - 1, 0);
    if (codec->id == AV_CODEC_ID_GIF) {
      palette_ = gif_palette_filters(info_.width, info_.height, source_format(), encoder_->time_base,
                                     options.gif_dither);
      paletted_ = av_frame_alloc();
      if (paletted_ == nullptr) throw Error(target + ": out of memory");
    }
    if (!options.side_streams.source.empty())
      side_streams_ = std::make_unique<SideStreamCopier>(options.side_streams, format_, target);
    status = avio_open(&format_->pb, file_.temporary_path().c_str(), AVIO_FLAG_WRITE);
    if (status < 0) throw Error(target + ": cannot write: " + ffmpeg_error(status));
    status = avformat_write_header(format_, nullptr);
    if (status < 0) throw Error(target + ": cannot write the header: " + ffmpeg_error(status));
    frame_ = av_frame_alloc();
    packet_ = av_packet_alloc();
    if (frame_ == nullptr || packet_ == nullptr) throw Error(target + ": out of memory");
  }

  // x264 and x265 check their preset only when opened, and print their own complaint: checked here instead.
  void set_preset(const AVCodec* codec, const std::string& preset) {
    static const std::vector<std::string> x26x_presets = {"ultrafast", "superfast", "veryfast", "faster", "fast",
                                                          "medium",    "slow",      "slower",   "veryslow", "placebo"};
    const std::string name = codec->name;
    const bool x26x = name == "libx264" || name == "libx265";
    const bool known = !x26x || std::find(x26x_presets.begin(), x26x_presets.end(), preset) != x26x_presets.end();
    if (known && av_opt_set(encoder_->priv_data, "preset", preset.c_str(), 0) >= 0) return;
    std::string listed;
    for (const std::string& each : x26x_presets) listed += (listed.empty() ? " (" : ", ") + each;
    throw Error(file_.target() + ": the " + name + " encoder has no preset \"" + preset + "\"" +
                (x26x ? listed + ")" : ""));
  }

  void release() {
    side_streams_.reset();
    palette_.reset();
    av_frame_free(&paletted_);
    sws_freeContext(scaler_);
    scaler_ = nullptr;
    av_packet_free(&packet_);
    av_frame_free(&frame_);
    avcodec_free_context(&encoder_);
    if (format_ != nullptr) avio_closep(&format_->pb);
    avformat_free_context(format_);
    format_ = nullptr;
  }

  AVPixelFormat choose_pixel_format(const AVCodec* codec, const std::string& requested) const {
    if (!requested.empty()) {
      const AVPixelFormat format = av_get_pix_fmt(requested.c_str());
      if (format == AV_PIX_FMT_NONE) throw Error(file_.target() + ": unknown pixel format \"" + requested + "\"");
      return format;
    }
    if (codec->id == AV_CODEC_ID_GIF) return AV_PIX_FMT_PAL8;  // from the palette filters
    if (is_yuv_video_codec(codec)) {
      if (info_.has_alpha && codec->id == AV_CODEC_ID_VP9) return AV_PIX_FMT_YUVA420P;
      return AV_PIX_FMT_YUV420P;
    }
    if (codec->pix_fmts == nullptr) return source_format();
    return avcodec_find_best_pix_fmt_of_list(codec->pix_fmts, source_format(), info_.has_alpha ? 1 : 0, nullptr);
  }

  // The frames' own layout (what the palette filters take, and what is converted from for the encoder).
  AVPixelFormat source_format() const { return info_.has_alpha ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24; }

  double seconds(int64_t ticks) const { return static_cast<double>(ticks) * time_base_.num / time_base_.den; }

  // GIF: the frame (nullptr: the end) through the palette filters, and whatever paletted frames come out through
  // the encoder.
  void encode_through_palette(AVFrame* frame) {
    palette_->push(frame);
    while (palette_->pull(paletted_)) encode(paletted_);
  }

  // Sends a frame (nullptr: the end) and writes the packets that come out, each with its frame's duration.
  void encode(const AVFrame* frame) {
    int status = avcodec_send_frame(encoder_, frame);
    if (status < 0) throw Error(file_.target() + ": cannot encode: " + ffmpeg_error(status));
    while ((status = avcodec_receive_packet(encoder_, packet_)) == 0) {
      const auto duration = durations_.find(packet_->pts);
      if (duration != durations_.end()) {
        if (packet_->duration == 0) packet_->duration = duration->second;
        durations_.erase(duration);
      }
      av_packet_rescale_ts(packet_, encoder_->time_base, stream_->time_base);
      packet_->stream_index = stream_->index;
      status = av_interleaved_write_frame(format_, packet_);
      if (status < 0) throw Error(file_.target() + ": cannot write: " + ffmpeg_error(status));
    }
    if (status != AVERROR(EAGAIN) && status != AVERROR_EOF)
      throw Error(file_.target() + ": cannot encode: " + ffmpeg_error(status));
  }

  AtomicFile file_;
  StreamInfo info_;
  Rational time_base_;  // the encoder's
  AVFormatContext* format_ = nullptr;
  AVStream* stream_ = nullptr;
  AVCodecContext* encoder_ = nullptr;
  AVFrame* frame_ = nullptr;
  AVPacket* packet_ = nullptr;
  SwsContext* scaler_ = nullptr;
  std::unique_ptr<FilterGraph> palette_;  // GIF only
  AVFrame* paletted_ = nullptr;
  std::map<int64_t, int64_t> durations_;  // frame pts -> duration, until its packet is written
  int64_t frames_ = 0;
  int64_t next_pts_ = 0;
  int64_t last_duration_ = 0;
  int64_t video_end_ = 0;  // the last frame's end, in time_base_
  std::unique_ptr<SideStreamCopier> side_streams_;
};

}  // namespace ffmpeg_writer

std::unique_ptr<FrameWriter> create_ffmpeg_video(const std::string& path, const StreamInfo& info,
                                                 const VideoEncodeOptions& options) {
  return std::make_unique<ffmpeg_writer::FfmpegVideoWriter>(path, info, options);
}

}  // namespace uprez
