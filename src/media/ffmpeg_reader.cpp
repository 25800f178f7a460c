#include "media/ffmpeg_reader.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <cmath>
#include <cstring>
#include <tuple>
#include <utility>

#include "core/error.h"
#include "media/ffmpeg_common.h"

namespace uprez {

namespace ffmpeg_reader {

bool pixel_format_has_alpha(int format) {
  const AVPixFmtDescriptor* descriptor = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(format));
  return descriptor != nullptr && (descriptor->flags & AV_PIX_FMT_FLAG_ALPHA) != 0;
}

class FfmpegVideoReader final : public FrameReader {
 public:
  explicit FfmpegVideoReader(std::string path) : path_(std::move(path)) {
    try {
      open();
    } catch (...) {
      release();
      throw;
    }
  }

  ~FfmpegVideoReader() override { release(); }

  const StreamInfo& info() const override { return info_; }

  std::optional<Frame> next() override {
    if (!decode_next()) return std::nullopt;
    return converted();
  }

  bool skip() override {
    if (!decode_next()) return false;
    passed_over();
    return true;
  }

 private:
  void open() {
    quiet_ffmpeg_logs();
    int status = avformat_open_input(&format_, path_.c_str(), nullptr, nullptr);
    if (status < 0) throw Error(path_ + ": cannot open: " + ffmpeg_error(status));
    status = avformat_find_stream_info(format_, nullptr);
    if (status < 0) throw Error(path_ + ": cannot read the streams: " + ffmpeg_error(status));
    const AVCodec* codec = nullptr;
    stream_index_ = av_find_best_stream(format_, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (stream_index_ < 0 || codec == nullptr) throw Error(path_ + ": has no video stream uprez can decode");
    const AVStream* stream = format_->streams[stream_index_];
    decoder_ = avcodec_alloc_context3(codec);
    if (decoder_ == nullptr) throw Error(path_ + ": out of memory");
    status = avcodec_parameters_to_context(decoder_, stream->codecpar);
    if (status >= 0) status = avcodec_open2(decoder_, codec, nullptr);
    if (status < 0) throw Error(path_ + ": cannot start the " + codec->name + " decoder: " + ffmpeg_error(status));
    packet_ = av_packet_alloc();
    frame_ = av_frame_alloc();
    if (packet_ == nullptr || frame_ == nullptr) throw Error(path_ + ": out of memory");

    info_.width = decoder_->width;
    info_.height = decoder_->height;
    info_.time_base = {stream->time_base.num, stream->time_base.den};
    // The container's rate (r_frame_rate, exact: 30000/1001) unless the measured average says the video is
    // variable; short clips measure it imprecisely (6 frames of 30000/1001 average 359/12).
    const AVRational real = stream->r_frame_rate, average = stream->avg_frame_rate;
    const bool average_agrees = average.num > 0 && real.num > 0 && std::abs(av_q2d(average) / av_q2d(real) - 1) < 0.01;
    const AVRational rate = real.num > 0 && (average.num <= 0 || average_agrees) ? real : average;
    if (rate.num > 0 && rate.den > 0) info_.frame_rate = {rate.num, rate.den};
    info_.constant_frame_rate = real.num > 0 && average_agrees;
    info_.frame_count = stream->nb_frames > 0 ? stream->nb_frames : -1;
    if (stream->duration > 0)
      info_.duration = stream->duration;
    else if (format_->duration > 0)
      info_.duration = av_rescale_q(format_->duration, AV_TIME_BASE_Q, stream->time_base);
    info_.has_alpha = pixel_format_has_alpha(decoder_->pix_fmt);
    check_frame_size(info_, path_);
  }

  // Decodes the next frame into frame_; false at the end. A container that counts its frames and ends before
  // that count is reported once, as cut short.
  bool decode_next() {
    while (true) {
      const int received = avcodec_receive_frame(decoder_, frame_);
      if (received == 0) return true;
      if (received == AVERROR_EOF) {
        if (frames_ == 0) throw Error(path_ + ": has no video frame that decodes (an empty or truncated file?)");
        if (info_.frame_count > 0 && frames_ < info_.frame_count && !shortfall_reported_) {
          shortfall_reported_ = true;
          throw Error(path_ + ": is cut short: " + std::to_string(frames_) + " of its " +
                      std::to_string(info_.frame_count) + " frames decode");
        }
        return false;
      }
      if (received != AVERROR(EAGAIN))
        throw Error(path_ + ": frame " + std::to_string(frames_ + 1) + " does not decode: " + ffmpeg_error(received));
      feed_decoder();
    }
  }

  void release() {
    sws_freeContext(scaler_);
    scaler_ = nullptr;
    av_frame_free(&frame_);
    av_packet_free(&packet_);
    avcodec_free_context(&decoder_);
    avformat_close_input(&format_);
  }

  // Sends the next packet of the video stream to the decoder, or the end-of-stream signal.
  void feed_decoder() {
    while (true) {
      const int read = av_read_frame(format_, packet_);
      if (read < 0) {  // the end, or data that cannot be read: what the decoder holds still comes out
        avcodec_send_packet(decoder_, nullptr);
        if (read == AVERROR_EOF) return;
        throw Error(path_ + ": cannot read past frame " + std::to_string(frames_) + ": " + ffmpeg_error(read));
      }
      const bool ours = packet_->stream_index == stream_index_;
      const int sent = ours ? avcodec_send_packet(decoder_, packet_) : 0;
      av_packet_unref(packet_);
      if (sent < 0 && sent != AVERROR(EAGAIN))
        throw Error(path_ + ": frame " + std::to_string(frames_ + 1) + " does not decode: " + ffmpeg_error(sent));
      if (ours) return;
    }
  }

  // The decoded frame as an 8-bit RGB(A) image with its time.
  Frame converted() {
    if (frame_->width != info_.width || frame_->height != info_.height)
      throw Error(path_ + ": frame " + std::to_string(frames_ + 1) + " is " + std::to_string(frame_->width) + "x" +
                  std::to_string(frame_->height) + ", the stream " + std::to_string(info_.width) + "x" +
                  std::to_string(info_.height) + " (size changes are not supported)");
    Frame frame;
    frame.image = Image(info_.width, info_.height, info_.has_alpha ? 4 : 3, 8);
    const AVPixelFormat target = info_.has_alpha ? AV_PIX_FMT_RGBA : AV_PIX_FMT_RGB24;
    scaler_ = sws_getCachedContext(scaler_, frame_->width, frame_->height, static_cast<AVPixelFormat>(frame_->format),
                                   info_.width, info_.height, target,
                                   SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr, nullptr);
    if (scaler_ == nullptr) throw Error(path_ + ": cannot convert its pixel format to RGB");
    const int matrix = frame_->colorspace == AVCOL_SPC_UNSPECIFIED ? SWS_CS_DEFAULT : frame_->colorspace;
    const int* coefficients = sws_getCoefficients(matrix);
    sws_setColorspaceDetails(scaler_, coefficients, frame_->color_range == AVCOL_RANGE_JPEG, coefficients, 1, 0,
                             1 << 16, 1 << 16);
    uint8_t* planes[4] = {frame.image.data.data(), nullptr, nullptr, nullptr};
    int strides[4] = {static_cast<int>(frame.image.row_bytes()), 0, 0, 0};
    sws_scale(scaler_, frame_->data, frame_->linesize, 0, frame_->height, planes, strides);

    std::tie(frame.pts, frame.duration) = passed_over();
    return frame;
  }

  // The decoded frame's start and duration; counts it and lets it go.
  std::pair<int64_t, int64_t> passed_over() {
    const int64_t pts = frame_->best_effort_timestamp != AV_NOPTS_VALUE ? frame_->best_effort_timestamp : next_pts_;
    const int64_t duration = frame_->pkt_duration > 0 ? frame_->pkt_duration : 0;
    next_pts_ = pts + duration;
    ++frames_;
    av_frame_unref(frame_);
    return {pts, duration};
  }

  std::string path_;
  AVFormatContext* format_ = nullptr;
  AVCodecContext* decoder_ = nullptr;
  AVPacket* packet_ = nullptr;
  AVFrame* frame_ = nullptr;
  SwsContext* scaler_ = nullptr;
  int stream_index_ = -1;
  StreamInfo info_;
  int64_t next_pts_ = 0;
  int64_t frames_ = 0;
  bool shortfall_reported_ = false;
};

}  // namespace ffmpeg_reader

std::unique_ptr<FrameReader> open_ffmpeg_video(const std::string& path) {
  return std::make_unique<ffmpeg_reader::FfmpegVideoReader>(path);
}

}  // namespace uprez
