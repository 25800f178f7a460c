// Helpers shared by the codecs: checked stream writes.
#include "core/error.h"
#include "image/codecs.h"

namespace uprez::codec {

void write_bytes(std::FILE* out, const void* data, size_t size) {
  if (size && std::fwrite(data, 1, size, out) != size) throw Error("write failed (disk full?)");
}

}  // namespace uprez::codec
