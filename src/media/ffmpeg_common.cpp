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

void quiet_ffmpeg_logs() { av_log_set_level(AV_LOG_ERROR); }

}  // namespace uprez
