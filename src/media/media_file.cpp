#include "media/media_file.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "media/ffmpeg_reader.h"
#include "media/webp_animation.h"

namespace uprez {

namespace media_file {

const std::array<const char*, 8> kVideoExtensions = {".mp4", ".mkv", ".webm", ".mov", ".avi", ".m4v", ".mpg", ".ts"};

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string lower_extension(const std::string& path) { return lower(std::filesystem::path(path).extension().string()); }

bool is_video_extension(const std::string& extension) {
  return std::any_of(kVideoExtensions.begin(), kVideoExtensions.end(),
                     [&](const char* known) { return extension == known; });
}

// Whether a PNG's chunks before its first image data include acTL (the APNG animation control chunk).
bool png_is_animated(std::ifstream& file) {
  file.seekg(8);
  char header[8];
  while (file.read(header, 8)) {
    uint32_t length = 0;
    for (int i = 0; i < 4; ++i) length = length << 8 | static_cast<uint8_t>(header[i]);  // big-endian
    if (std::memcmp(header + 4, "acTL", 4) == 0) return true;
    if (std::memcmp(header + 4, "IDAT", 4) == 0) return false;
    file.seekg(static_cast<std::streamoff>(length) + 4, std::ios::cur);  // data and CRC
  }
  return false;
}

}  // namespace media_file

const char* const kAnimationExtensionsText = ".webp, .gif, .apng, .mp4, .mkv, .webm, .mov or .avi";

bool is_animation_or_video(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(path + ": cannot open");
  char magic[32] = {};
  file.read(magic, sizeof(magic));
  if (std::memcmp(magic, "GIF8", 4) == 0) return true;
  if (std::memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0) {
    file.clear();  // a file shorter than the magic buffer
    return media_file::png_is_animated(file);
  }
  if (std::memcmp(magic, "RIFF", 4) == 0 && std::memcmp(magic + 8, "WEBPVP8X", 8) == 0)
    return (static_cast<uint8_t>(magic[20]) & 0x02) != 0;  // the VP8X animation flag
  return media_file::is_video_extension(media_file::lower_extension(path));
}

bool is_animation_extension(const std::string& extension) {
  const std::string lowered = media_file::lower(extension);
  return lowered == ".webp" || lowered == ".gif" || lowered == ".apng" || media_file::is_video_extension(lowered);
}

std::unique_ptr<FrameReader> open_frames(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  char magic[12] = {};
  file.read(magic, sizeof(magic));
  if (std::memcmp(magic, "RIFF", 4) == 0 && std::memcmp(magic + 8, "WEBP", 4) == 0) return open_webp_animation(path);
  return open_ffmpeg_video(path);
}

std::unique_ptr<FrameWriter> create_frames_writer(const std::string& path, const StreamInfo& info,
                                                  const AnimationWriteOptions& options) {
  const std::string extension = media_file::lower_extension(path);
  if (extension == ".webp") return create_webp_animation(path, info, {options.lossless, options.quality});
  if (!is_animation_extension(extension))
    throw Error(path + ": uprez does not write animations or videos as \"" + extension +
                "\" (use " + kAnimationExtensionsText + ")");
  return create_ffmpeg_video(path, info, options.video);
}

}  // namespace uprez
