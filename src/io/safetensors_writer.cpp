#include "io/safetensors_writer.h"

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace uprez {

namespace safetensors_writer {

const char* dtype_code(torch::ScalarType type) {
  switch (type) {
    case torch::kFloat32:
      return "F32";
    case torch::kFloat16:
      return "F16";
    case torch::kBFloat16:
      return "BF16";
    default:
      return nullptr;
  }
}

}  // namespace safetensors_writer

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::vector<torch::Tensor> blobs;
  int64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    const char* code = safetensors_writer::dtype_code(tensor.scalar_type());
    if (code == nullptr) throw Error(path + ": " + name + " is not float32, float16 or bfloat16");
    torch::Tensor blob = tensor.detach().cpu().contiguous();
    const int64_t bytes = blob.numel() * static_cast<int64_t>(blob.element_size());
    header[name] = {{"dtype", code}, {"shape", blob.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    blobs.push_back(std::move(blob));
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  const uint64_t length = text.size();          // little-endian on every platform LibTorch supports here

  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(&length), sizeof length);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    for (const torch::Tensor& blob : blobs)
      out.write(static_cast<const char*>(blob.data_ptr()), static_cast<std::streamsize>(blob.nbytes()));
    out.close();
    if (!out) {
      std::remove(temporary.c_str());
      throw Error(path + ": cannot write the file");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    throw Error(path + ": cannot write the file");
  }
}

}  // namespace uprez
