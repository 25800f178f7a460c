#include "media/side_streams.h"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
}

#include <cstring>
#include <limits>

#include "core/error.h"
#include "media/ffmpeg_common.h"
#include "media/filter_graph.h"

namespace uprez {

namespace side_streams {

bool is_text_subtitle(AVCodecID codec) {
  const AVCodecDescriptor* descriptor = avcodec_descriptor_get(codec);
  return descriptor != nullptr && (descriptor->props & AV_CODEC_PROP_TEXT_SUB) != 0;
}


// The text subtitle format `container` takes: its default, or (mp4 names none) the first it accepts of the usual
// ones; AV_CODEC_ID_NONE when it takes no text subtitles.
AVCodecID text_subtitle_codec(const AVOutputFormat& container) {
  if (container.subtitle_codec != AV_CODEC_ID_NONE) return container.subtitle_codec;
  for (const AVCodecID codec : {AV_CODEC_ID_MOV_TEXT, AV_CODEC_ID_ASS, AV_CODEC_ID_SUBRIP, AV_CODEC_ID_WEBVTT})
    if (avformat_query_codec(&container, codec, FF_COMPLIANCE_NORMAL) == 1) return codec;
  return AV_CODEC_ID_NONE;
}

std::string channel_layout_text(const AVChannelLayout& layout) {
  char text[128] = {};
  av_channel_layout_describe(&layout, text, sizeof(text));
  return text;
}

// Of `supported` (a list ending in `end`, or null: anything goes), `wanted` if listed, else `fallback` if listed,
// else the first.
template <typename T>
T pick_supported(const T* supported, T end, T wanted, T fallback) {
  if (supported == nullptr) return wanted;
  for (const T* value = supported; *value != end; ++value)
    if (*value == wanted) return wanted;
  for (const T* value = supported; *value != end; ++value)
    if (*value == fallback) return fallback;
  return supported[0];
}

}  // namespace side_streams

// One carried stream: where its packets go, and for re-encoded audio the decoder, converting filters and encoder.
struct SideStreamCopier::Stream {
  AVStream* in = nullptr;
  AVStream* out = nullptr;
  int64_t offset = 0;  // options.from, in the input's time base
  AVCodecContext* decoder = nullptr;
  AVCodecContext* encoder = nullptr;
  std::unique_ptr<FilterGraph> filters;
  AVFrame* frame = nullptr;
  AVPacket* encoded = nullptr;
  int64_t undecodable = 0;

  ~Stream() {
    av_packet_free(&encoded);
    av_frame_free(&frame);
    avcodec_free_context(&encoder);
    avcodec_free_context(&decoder);
  }

  bool reencodes() const { return encoder != nullptr; }
  bool reencodes_audio() const { return filters != nullptr; }

  // Seconds from the output's start to the packet's start (its decode time when it has no presentation time).
  double seconds(const AVPacket& packet) const {
    const int64_t time = packet.pts != AV_NOPTS_VALUE ? packet.pts : packet.dts;
    return time == AV_NOPTS_VALUE ? 0 : static_cast<double>(time - offset) * av_q2d(in->time_base);
  }

  // Opens the stream's decoder and allocates an encoder of `codec`; throws Error.
  void open_codecs(const AVCodec* codec, const AVFormatContext& output) {
    const AVCodec* decoder_codec = avcodec_find_decoder(in->codecpar->codec_id);
    if (decoder_codec == nullptr) throw Error("no decoder for it");
    decoder = avcodec_alloc_context3(decoder_codec);
    encoder = avcodec_alloc_context3(codec);
    frame = av_frame_alloc();
    encoded = av_packet_alloc();
    if (decoder == nullptr || encoder == nullptr || frame == nullptr || encoded == nullptr)
      throw Error("out of memory");
    int status = avcodec_parameters_to_context(decoder, in->codecpar);
    decoder->pkt_timebase = in->time_base;
    if (status >= 0) status = avcodec_open2(decoder, decoder_codec, nullptr);
    if (status < 0) throw Error("cannot decode it: " + ffmpeg_error(status));
    if (output.oformat->flags & AVFMT_GLOBALHEADER) encoder->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  }

  // Opens the encoder and gives the output stream its parameters; throws Error.
  void open_encoder(const AVCodec* codec) {
    int status = avcodec_open2(encoder, codec, nullptr);
    if (status < 0) throw Error("the " + std::string(codec->name) + " encoder refuses it: " + ffmpeg_error(status));
    status = avcodec_parameters_from_context(out->codecpar, encoder);
    if (status < 0) throw Error(ffmpeg_error(status));
    out->time_base = encoder->time_base;
  }

  // Text subtitles in another text format: the same styled lines, times in microseconds.
  void start_subtitle_reencoding(const AVCodec* codec, const AVFormatContext& output) {
    open_codecs(codec, output);
    encoder->time_base = AV_TIME_BASE_Q;
    if (decoder->subtitle_header != nullptr) {  // the ASS styles the lines refer to
      encoder->subtitle_header = static_cast<uint8_t*>(av_mallocz(decoder->subtitle_header_size + 1));
      if (encoder->subtitle_header == nullptr) throw Error("out of memory");
      std::memcpy(encoder->subtitle_header, decoder->subtitle_header, decoder->subtitle_header_size);
      encoder->subtitle_header_size = decoder->subtitle_header_size;
    }
    open_encoder(codec);
  }

  // Audio: decoding, conversion to what `codec` takes and encoding; throws Error.
  void start_audio_reencoding(const AVCodec* codec, const AVFormatContext& output) {
    open_codecs(codec, output);
    if (decoder->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
      const int channels = decoder->ch_layout.nb_channels;
      av_channel_layout_uninit(&decoder->ch_layout);
      av_channel_layout_default(&decoder->ch_layout, channels);
    }

    encoder->sample_rate = side_streams::pick_supported(codec->supported_samplerates, 0, decoder->sample_rate, 48000);
    encoder->sample_fmt = side_streams::pick_supported(codec->sample_fmts, AV_SAMPLE_FMT_NONE, decoder->sample_fmt,
                                         AV_SAMPLE_FMT_FLTP);
    av_channel_layout_copy(&encoder->ch_layout, &decoder->ch_layout);
    if (codec->ch_layouts != nullptr) {
      bool listed = false;
      for (const AVChannelLayout* layout = codec->ch_layouts; layout->nb_channels != 0; ++layout)
        listed = listed || av_channel_layout_compare(layout, &decoder->ch_layout) == 0;
      if (!listed) {
        const AVChannelLayout stereo = AV_CHANNEL_LAYOUT_STEREO;
        av_channel_layout_uninit(&encoder->ch_layout);
        av_channel_layout_copy(&encoder->ch_layout, &stereo);
      }
    }
    encoder->time_base = {1, encoder->sample_rate};
    open_encoder(codec);

    const std::string source_args =
        "time_base=" + std::to_string(in->time_base.num) + "/" + std::to_string(in->time_base.den) +
        ":sample_rate=" + std::to_string(decoder->sample_rate) +
        ":sample_fmt=" + av_get_sample_fmt_name(decoder->sample_fmt) +
        ":channel_layout=" + side_streams::channel_layout_text(decoder->ch_layout);
    const std::string conversion = std::string("aformat=sample_fmts=") + av_get_sample_fmt_name(encoder->sample_fmt) +
                                   ":sample_rates=" + std::to_string(encoder->sample_rate) +
                                   ":channel_layouts=" + side_streams::channel_layout_text(encoder->ch_layout);
    filters = std::make_unique<FilterGraph>("abuffer", source_args, conversion, "audio conversion filters");
    if ((codec->capabilities & AV_CODEC_CAP_VARIABLE_FRAME_SIZE) == 0 && encoder->frame_size > 0)
      filters->set_output_frame_size(encoder->frame_size);
  }
};

SideStreamCopier::SideStreamCopier(const SideStreams& options, AVFormatContext* output, const std::string& target)
    : output_(output), target_(target), options_(options) {
  try {
    int status = avformat_open_input(&input_, options.source.c_str(), nullptr, nullptr);
    if (status >= 0) status = avformat_find_stream_info(input_, nullptr);
    if (status < 0) throw Error(options.source + ": cannot read its audio and subtitles: " + ffmpeg_error(status));
    packet_ = av_packet_alloc();
    if (packet_ == nullptr) throw Error(target + ": out of memory");
    const AVOutputFormat& container = *output->oformat;
    const std::string extension = target.substr(target.find_last_of('.') + 1);
    for (unsigned i = 0; i < input_->nb_streams; ++i) {
      AVStream* in = input_->streams[i];
      const AVMediaType type = in->codecpar->codec_type;
      streams_.emplace_back();
      if (type != AVMEDIA_TYPE_AUDIO && type != AVMEDIA_TYPE_SUBTITLE) continue;
      const bool audio = type == AVMEDIA_TYPE_AUDIO;
      const char* codec_name = avcodec_get_name(in->codecpar->codec_id);
      const std::string label =
          std::string(audio ? "audio" : "subtitle") + " stream " + std::to_string(i) + " (" + codec_name + ")";
      const AVCodecID own_codec = audio ? container.audio_codec : side_streams::text_subtitle_codec(container);
      if (own_codec == AV_CODEC_ID_NONE) {
        notes_.push_back(label + ": left out (." + extension + " holds no " + (audio ? "audio" : "subtitles") + ")");
        continue;
      }
      // 1: the container takes the codec; < 0: it cannot say (the header will tell).
      const bool copies = avformat_query_codec(&container, in->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 0;
      // Audio can always be re-encoded; subtitles only from text to text.
      const bool convertible = audio || (side_streams::is_text_subtitle(in->codecpar->codec_id) && side_streams::is_text_subtitle(own_codec));
      const AVCodec* encoder = !copies && convertible ? avcodec_find_encoder(own_codec) : nullptr;
      if (!copies && encoder == nullptr) {
        notes_.push_back(label + ": left out (." + extension + " does not take " + codec_name + ")");
        continue;
      }
      auto stream = std::make_unique<Stream>();
      stream->in = in;
      stream->out = avformat_new_stream(output, nullptr);
      if (stream->out == nullptr) throw Error(target + ": out of memory");
      stream->offset = rescale(options.from.num, {1, options.from.den}, {in->time_base.num, in->time_base.den});
      av_dict_copy(&stream->out->metadata, in->metadata, 0);  // language, title
      stream->out->disposition = in->disposition;
      if (copies) {
        status = avcodec_parameters_copy(stream->out->codecpar, in->codecpar);
        if (status < 0) throw Error(target + ": " + ffmpeg_error(status));
        stream->out->codecpar->codec_tag = 0;  // each container has its own tags
        stream->out->time_base = in->time_base;
        notes_.push_back(label + ": copied");
      } else {
        try {
          if (audio)
            stream->start_audio_reencoding(encoder, *output);
          else
            stream->start_subtitle_reencoding(encoder, *output);
        } catch (const Error& e) {
          throw Error(target + ": " + label + " must be re-encoded for ." + extension + ", but " + e.what());
        }
        notes_.push_back(label + ": re-encoded as " + encoder->name + " (." + extension + " does not take " +
                         codec_name + ")");
      }
      streams_.back() = std::move(stream);
    }
  } catch (...) {
    av_packet_free(&packet_);
    avformat_close_input(&input_);
    throw;
  }
}

SideStreamCopier::~SideStreamCopier() {
  streams_.clear();
  av_packet_free(&packet_);
  avformat_close_input(&input_);
}

bool SideStreamCopier::read_packet() {
  while (!packet_pending_ && !input_done_) {
    // A read error in the source ends its side streams; the video's own reader reports the damage.
    if (av_read_frame(input_, packet_) < 0) {
      input_done_ = true;
      break;
    }
    const auto index = static_cast<size_t>(packet_->stream_index);
    if (index < streams_.size() && streams_[index])
      packet_pending_ = true;
    else
      av_packet_unref(packet_);
  }
  return packet_pending_;
}

void SideStreamCopier::write_until(double seconds) {
  while (read_packet()) {
    Stream& stream = *streams_[packet_->stream_index];
    if (stream.seconds(*packet_) >= seconds) return;
    write_packet(stream);
  }
}

void SideStreamCopier::write_packet(Stream& stream) {
  packet_pending_ = false;
  const bool before_start = (options_.from.num > 0 && stream.seconds(*packet_) < 0);
  if (before_start) {
    av_packet_unref(packet_);
    return;
  }
  if (packet_->pts != AV_NOPTS_VALUE) packet_->pts -= stream.offset;
  if (packet_->dts != AV_NOPTS_VALUE) packet_->dts -= stream.offset;
  if (!stream.reencodes()) {
    av_packet_rescale_ts(packet_, stream.in->time_base, stream.out->time_base);
    packet_->stream_index = stream.out->index;
    packet_->pos = -1;
    const int status = av_interleaved_write_frame(output_, packet_);
    if (status < 0) throw Error(target_ + ": cannot write a side stream packet: " + ffmpeg_error(status));
    return;
  }
  if (!stream.reencodes_audio()) {
    reencode_subtitle(stream);
    return;
  }
  const int status = avcodec_send_packet(stream.decoder, packet_);
  av_packet_unref(packet_);
  if (status < 0) ++stream.undecodable;  // a damaged audio packet: a moment of silence, not a failed video
  flush(stream, false);
}

// One subtitle packet decoded and encoded again in the output's text format.
void SideStreamCopier::reencode_subtitle(Stream& stream) {
  AVSubtitle subtitle{};
  int decoded = 0;
  const int status = avcodec_decode_subtitle2(stream.decoder, &subtitle, &decoded, packet_);
  const int64_t packet_start = av_rescale_q(packet_->pts, stream.in->time_base, AV_TIME_BASE_Q);
  av_packet_unref(packet_);
  if (status < 0) ++stream.undecodable;
  if (status < 0 || decoded == 0) return;
  // Shown from pts + start_display_time until pts + end_display_time (milliseconds): made to start at pts.
  if (subtitle.pts == AV_NOPTS_VALUE) subtitle.pts = packet_start;
  subtitle.pts += av_rescale_q(subtitle.start_display_time, {1, 1000}, AV_TIME_BASE_Q);
  subtitle.end_display_time -= subtitle.start_display_time;
  subtitle.start_display_time = 0;
  std::vector<uint8_t> buffer(1 << 16);
  const int size = avcodec_encode_subtitle(stream.encoder, buffer.data(), static_cast<int>(buffer.size()), &subtitle);
  const int64_t start = subtitle.pts, shown_ms = subtitle.end_display_time;
  avsubtitle_free(&subtitle);
  if (size < 0) throw Error(target_ + ": cannot re-encode the subtitles: " + ffmpeg_error(size));
  if (av_new_packet(stream.encoded, size) < 0) throw Error(target_ + ": out of memory");
  std::memcpy(stream.encoded->data, buffer.data(), static_cast<size_t>(size));
  stream.encoded->pts = stream.encoded->dts = av_rescale_q(start, AV_TIME_BASE_Q, stream.out->time_base);
  stream.encoded->duration = av_rescale_q(shown_ms, {1, 1000}, stream.out->time_base);
  stream.encoded->stream_index = stream.out->index;
  const int written = av_interleaved_write_frame(output_, stream.encoded);
  if (written < 0) throw Error(target_ + ": cannot write the subtitles: " + ffmpeg_error(written));
}

// Moves what the decoder, filters and encoder of a re-encoded stream have ready into the output; at the end of
// the stream, everything they still hold.
void SideStreamCopier::flush(Stream& stream, bool end_of_stream) {
  if (end_of_stream) avcodec_send_packet(stream.decoder, nullptr);
  while (avcodec_receive_frame(stream.decoder, stream.frame) == 0) {
    stream.frame->pts = stream.frame->best_effort_timestamp;
    stream.filters->push(stream.frame);
    av_frame_unref(stream.frame);
  }
  if (end_of_stream) stream.filters->push(nullptr);
  const auto encode = [&](AVFrame* frame) {
    int status = avcodec_send_frame(stream.encoder, frame);
    while (status >= 0 && (status = avcodec_receive_packet(stream.encoder, stream.encoded)) == 0) {
      av_packet_rescale_ts(stream.encoded, stream.encoder->time_base, stream.out->time_base);
      stream.encoded->stream_index = stream.out->index;
      status = av_interleaved_write_frame(output_, stream.encoded);
    }
    if (status < 0 && status != AVERROR(EAGAIN) && status != AVERROR_EOF)
      throw Error(target_ + ": cannot re-encode the audio: " + ffmpeg_error(status));
  };
  while (stream.filters->pull(stream.frame)) {
    stream.frame->pts = av_rescale_q(stream.frame->pts, stream.filters->output_time_base(), stream.encoder->time_base);
    encode(stream.frame);
  }
  if (end_of_stream) encode(nullptr);
}

void SideStreamCopier::finish(double video_end_seconds) {
  const double end = options_.end_with_video ? video_end_seconds : std::numeric_limits<double>::infinity();
  constexpr double kReorderSlack = 5;  // seconds past the end still read: streams interleave loosely
  while (read_packet()) {
    Stream& stream = *streams_[packet_->stream_index];
    const double seconds = stream.seconds(*packet_);
    if (seconds > end + kReorderSlack) break;
    if (seconds < end) {
      write_packet(stream);
    } else {
      packet_pending_ = false;
      av_packet_unref(packet_);
    }
  }
  for (auto& stream : streams_) {
    if (stream && stream->reencodes_audio()) flush(*stream, true);
    if (stream && stream->undecodable > 0)
      notes_.push_back(std::string(av_get_media_type_string(stream->in->codecpar->codec_type)) + " stream " +
                       std::to_string(stream->in->index) + ": " + std::to_string(stream->undecodable) +
                       " damaged packets left out");
  }
}

}  // namespace uprez
