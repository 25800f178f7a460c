#include "media/side_streams.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "media/ffmpeg_reader.h"
#include "media/ffmpeg_writer.h"
#include "media/frame_test_support.h"
#include "support/fixtures.h"

namespace side_streams_test {

using namespace uprez;

class SideStreamsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::have_ffmpeg()) GTEST_SKIP() << "SKIPPED: the ffmpeg program (Debian package ffmpeg) makes the test media";
    dir_ = test::temp_dir();
    source_ = dir_ + "/clip.mp4";
    // 30 frames at 30000/1001 with one second of AAC sound.
    test::run_ffmpeg("-f lavfi -i testsrc=size=32x24:rate=30000/1001:duration=1.001 "
                     "-f lavfi -i sine=frequency=440:sample_rate=44100:duration=1 "
                     "-c:v libx264 -pix_fmt yuv420p -c:a aac " + source_);
  }

  // Writes frames `first` to `last` of the source to `output` with the source's side streams (when `first` > 0,
  // from the first frame's time on, times shifted to start at 0); returns the writer's notes.
  std::vector<std::string> transcode(const std::string& output, int64_t first = 0, int64_t last = 1000) {
    auto reader = open_ffmpeg_video(source_);
    const StreamInfo info = reader->info();
    VideoEncodeOptions options;
    options.side_streams.source = source_;
    options.side_streams.end_with_video = last < 1000;
    std::unique_ptr<FrameWriter> writer;
    int64_t index = 0, first_pts = 0;
    while (std::optional<Frame> frame = reader->next()) {
      if (index == first) {
        first_pts = first > 0 ? frame->pts : 0;  // as image-process: times shift only for a later start
        options.side_streams.from = {first_pts * info.time_base.num, info.time_base.den};
        writer = create_ffmpeg_video(output, info, options);
      }
      if (index >= first && index <= last) {
        frame->pts -= first_pts;
        writer->write(*frame);
      }
      ++index;
    }
    writer->finish();
    return writer->notes();
  }

  double source_audio_seconds() const { return test::find_stream(test::probe_streams(source_), "audio")->seconds; }

  std::string dir_, source_;
};

bool has_note(const std::vector<std::string>& notes, const std::string& text) {
  return std::any_of(notes.begin(), notes.end(),
                     [&](const std::string& note) { return note.find(text) != std::string::npos; });
}

// mp4 and mkv take AAC: its packets are copied, the audio lasts as long as before (mkv, as FFmpeg's own copy to
// it, stores the encoder's priming and the cut last packet as whole 23 ms packets).
TEST_F(SideStreamsTest, AacIsCopiedIntoMp4AndMkv) {
  for (const std::string extension : {".mp4", ".mkv"}) {
    SCOPED_TRACE(extension);
    const std::string output = dir_ + "/out" + extension;
    EXPECT_TRUE(has_note(transcode(output), "audio stream 1 (aac): copied"));
    const std::vector<test::StreamSummary> streams = test::probe_streams(output);
    const std::optional<test::StreamSummary> audio = test::find_stream(streams, "audio");
    ASSERT_TRUE(audio);
    EXPECT_EQ(audio->codec, "aac");
    EXPECT_NEAR(audio->seconds, source_audio_seconds(), extension == ".mp4" ? 1e-3 : 0.025);
    EXPECT_TRUE(test::find_stream(streams, "video"));
  }
}

// WebM does not take AAC: the audio is re-encoded (Opus or Vorbis) and keeps its length.
TEST_F(SideStreamsTest, WebmGetsItsOwnAudioCodec) {
  const std::string output = dir_ + "/out.webm";
  EXPECT_TRUE(has_note(transcode(output), "re-encoded as"));
  const std::optional<test::StreamSummary> audio = test::find_stream(test::probe_streams(output), "audio");
  ASSERT_TRUE(audio);
  EXPECT_TRUE(audio->codec == "opus" || audio->codec == "vorbis") << audio->codec;
  EXPECT_NEAR(audio->seconds, source_audio_seconds(), 0.05);
}

// GIF holds no sound: the writer says it left the audio out.
TEST_F(SideStreamsTest, GifLeavesTheAudioOutAndSaysSo) {
  const std::string output = dir_ + "/out.gif";
  EXPECT_TRUE(has_note(transcode(output), "left out (.gif holds no audio)"));
  EXPECT_FALSE(test::find_stream(test::probe_streams(output), "audio"));
}

// Frames 10 to 19 take the audio of their third of a second, starting with them.
TEST_F(SideStreamsTest, ARangeOfFramesTakesItsStretchOfAudio) {
  const std::string output = dir_ + "/part.mp4";
  transcode(output, 10, 19);
  const std::vector<test::StreamSummary> streams = test::probe_streams(output);
  ASSERT_TRUE(test::find_stream(streams, "audio"));
  const double ten_frames = 10 * 1001.0 / 30000;
  EXPECT_NEAR(test::find_stream(streams, "audio")->seconds, ten_frames, 0.05);  // AAC packets are 23 ms
  EXPECT_NEAR(test::find_stream(streams, "video")->seconds, ten_frames, 1e-3);
}

// Text subtitles: copied into mkv (SubRip), re-encoded as mov_text for mp4, their lines timed as FFmpeg's own
// conversion times them (mp4 adds empty samples for the gaps).
TEST_F(SideStreamsTest, TextSubtitlesAreCopiedOrConverted) {
  std::ofstream(dir_ + "/lines.srt") << "1\n00:00:00,100 --> 00:00:00,500\nHello\n\n"
                                        "2\n00:00:00,600 --> 00:00:00,900\nworld\n";
  const std::string with_subtitles = dir_ + "/subtitled.mkv";
  test::run_ffmpeg("-i " + source_ + " -i " + dir_ + "/lines.srt -map 0 -map 1 -c:v copy -c:a copy -c:s srt " +
                   with_subtitles);
  test::run_ffmpeg("-i " + with_subtitles + " -map 0 -c:v copy -c:a copy -c:s mov_text " + dir_ + "/reference.mp4");
  source_ = with_subtitles;
  EXPECT_TRUE(has_note(transcode(dir_ + "/out.mkv"), "subtitle stream 2 (subrip): copied"));
  EXPECT_TRUE(has_note(transcode(dir_ + "/out.mp4"), "subtitle stream 2 (subrip): re-encoded as mov_text"));
  for (const auto& [output, reference] : {std::pair{dir_ + "/out.mkv", with_subtitles},
                                          std::pair{dir_ + "/out.mp4", dir_ + "/reference.mp4"}}) {
    SCOPED_TRACE(output);
    const std::optional<test::StreamSummary> subtitles = test::find_stream(test::probe_streams(output), "subtitle");
    ASSERT_TRUE(subtitles);
    EXPECT_NEAR(subtitles->seconds, test::find_stream(test::probe_streams(reference), "subtitle")->seconds, 1e-3);
  }
}

}  // namespace side_streams_test
