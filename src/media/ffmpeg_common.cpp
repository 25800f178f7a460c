#include "media/ffmpeg_common.h"

extern "C" {
#include <libavutil/error.h>
#include <libavutil/log.h>
}

namespace uprez {

std::string ffmpeg_error(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof(text));
  return text;
}

// uprez reports what fails itself, one line naming the file; the libraries' own lines would come on top of it.
void quiet_ffmpeg_logs() { av_log_set_level(AV_LOG_QUIET); }

}  // namespace uprez
