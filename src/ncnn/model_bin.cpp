#include "ncnn/model_bin.h"

#include <cstring>

#include "core/error.h"

namespace uprez::ncnn {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the .bin payloads are copied as little-endian values");

namespace model_bin {

// The 4-byte tags ncnn writes before a type-0 buffer.
constexpr uint32_t kFloat16Tag = 0x01306B47;
constexpr uint32_t kInt8Tag = 0x000D4B38;
constexpr uint32_t kFloat32Tag = 0x0002C056;
constexpr uint32_t kPlainFloat32Tag = 0;
constexpr int64_t kQuantizationTableSize = 256;

// The next `count` values of `element_size` bytes, with the padding that follows them up to a multiple of 4 bytes.
ByteView take_payload(ByteReader& reader, const std::string& path, int64_t count, size_t element_size,
                      const char* what) {
  const size_t available = reader.remaining();
  // Compare the count with what is left before multiplying, so that an absurd count can neither overflow nor
  // lead to an allocation.
  const bool fits = static_cast<uint64_t>(count) <= available / element_size;
  const size_t padded_size = fits ? (static_cast<size_t>(count) * element_size + 3) / 4 * 4 : 0;
  if (!fits || padded_size > available)
    throw Error(path + ": file too short: " + what + " (" + std::to_string(count) + " values) at offset " +
                std::to_string(reader.position()) + " do not fit in the " + std::to_string(available) + " bytes left");
  return reader.bytes(padded_size);
}

// The next `count` values stored as `dtype` (and their padding), as float32.
torch::Tensor take_values(ByteReader& reader, const std::string& path, int64_t count, torch::ScalarType dtype,
                          const char* what) {
  const size_t element_size = torch::elementSize(dtype);
  const ByteView bytes = take_payload(reader, path, count, element_size, what);
  torch::Tensor values = torch::empty({count}, torch::TensorOptions().dtype(dtype));
  if (count > 0) std::memcpy(values.data_ptr(), bytes.data, static_cast<size_t>(count) * element_size);
  return values.to(torch::kFloat32);
}

// `count` values stored as a 256-entry float32 table followed by one uint8 index into it per value.
torch::Tensor take_quantized(ByteReader& reader, const std::string& path, int64_t count) {
  const torch::Tensor table = take_values(reader, path, kQuantizationTableSize, torch::kFloat32, "quantization table");
  const ByteView indices = take_payload(reader, path, count, 1, "quantized weight indices");
  const float* table_values = table.data_ptr<float>();
  torch::Tensor values = torch::empty({count}, torch::kFloat32);
  float* value = values.data_ptr<float>();
  for (int64_t i = 0; i < count; ++i) value[i] = table_values[indices.data[i]];
  return values;
}

}  // namespace model_bin

ModelBin::ModelBin(ByteView bytes, std::string path) : reader_(bytes, path), path_(std::move(path)) {}

torch::Tensor ModelBin::load(int64_t count, int type) {
  if (count < 0) throw Error(path_ + ": cannot load a negative number of weights (" + std::to_string(count) + ")");
  if (type == 1) return model_bin::take_values(reader_, path_, count, torch::kFloat32, "fp32 weights");
  if (type != 0) throw Error(path_ + ": unsupported weight load type " + std::to_string(type));

  if (reader_.remaining() < 4)
    throw Error(path_ + ": file too short: a weight tag is needed at offset " + std::to_string(reader_.position()) +
                ", only " + std::to_string(reader_.remaining()) + " bytes left");
  switch (reader_.u32()) {
    case model_bin::kFloat16Tag:
      return model_bin::take_values(reader_, path_, count, torch::kHalf, "fp16 weights");
    case model_bin::kInt8Tag:
      return model_bin::take_values(reader_, path_, count, torch::kInt8, "int8 weights");
    case model_bin::kFloat32Tag:
    case model_bin::kPlainFloat32Tag:
      return model_bin::take_values(reader_, path_, count, torch::kFloat32, "fp32 weights");
    default:  // ncnn reads any other tag with a non-zero byte as a quantization table
      return model_bin::take_quantized(reader_, path_, count);
  }
}

}  // namespace uprez::ncnn
