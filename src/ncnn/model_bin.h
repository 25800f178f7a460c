// Reads layer weights from an NCNN .bin file in layer order, as ncnn's ModelBinFromDataReader does.
#pragma once

#include <cstdint>
#include <string>

#include <torch/torch.h>

#include "io/byte_reader.h"

namespace uprez::ncnn {

class ModelBin {
 public:
  // `bytes` is the whole .bin file; `path` names it in errors.
  ModelBin(ByteView bytes, std::string path);

  // `count` float32 values. type 0: a flagged buffer: a 4-byte tag, then 0x01306B47: fp16 data; 0x000D4B38:
  // int8 data; 0 or 0x0002C056: fp32 data; any other tag whose four bytes are not all zero: a 256-entry fp32 table
  // followed by `count` uint8 indices into it. Buffers of fp16/int8/uint8 data are padded to 4 bytes.
  // type 1: `count` raw fp32 values without a tag. Throws Error("<path>: ...") when the file is too short or
  // `count` is negative or absurd (no allocation larger than the file allows).
  torch::Tensor load(int64_t count, int type);

  // Bytes not consumed yet (the runner checks that a whole network leaves none).
  size_t remaining() const { return reader_.remaining(); }
  const std::string& path() const { return path_; }

 private:
  ByteReader reader_;
  std::string path_;
};

}  // namespace uprez::ncnn
