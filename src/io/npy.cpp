#include "io/npy.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>

#include <torch/torch.h>

#include "core/error.h"
#include "io/byte_reader.h"
#include "io/mapped_file.h"
#include "io/tensor_bytes.h"

namespace uprez {

namespace npy {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicSize = sizeof kMagic - 1;
constexpr size_t kHeaderAlignment = 64;
constexpr size_t kMaxDims = 64;

std::optional<torch::ScalarType> parse_descr(const std::string& descr) {
  static const std::pair<const char*, torch::ScalarType> kDescrs[] = {
      {"<f4", torch::kFloat}, {"<f2", torch::kHalf}, {"<f8", torch::kDouble}, {"<i8", torch::kLong},
      {"<i4", torch::kInt},   {"|u1", torch::kByte}, {"|b1", torch::kBool},
  };
  for (const auto& [name, dtype] : kDescrs) {
    if (descr == name) return dtype;
  }
  return std::nullopt;
}

// The header is a Python dict literal, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 8, 8), }.
struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

class NpyHeaderParser {
 public:
  NpyHeaderParser(const std::string& path, std::string text) : path_(path), text_(std::move(text)) {}

  NpyHeader parse() {
    NpyHeader header;
    bool has_descr = false, has_order = false, has_shape = false;
    expect('{');
    while (!accept('}')) {
      const std::string key = quoted();
      expect(':');
      if (key == "descr") {
        header.descr = quoted();
        has_descr = true;
      } else if (key == "fortran_order") {
        header.fortran_order = boolean();
        has_order = true;
      } else if (key == "shape") {
        header.shape = tuple_of_integers();
        has_shape = true;
      } else {
        fail("unexpected key '" + key + "'");
      }
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    if (!has_descr || !has_order || !has_shape) fail("it lacks descr, fortran_order or shape");
    return header;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const { throw Error(path_ + ": invalid .npy header: " + what); }

  void skip_spaces() {
    while (position_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[position_]))) ++position_;
  }
  bool accept(char expected) {
    skip_spaces();
    if (position_ < text_.size() && text_[position_] == expected) {
      ++position_;
      return true;
    }
    return false;
  }
  void expect(char expected) {
    if (!accept(expected)) fail(std::string("expected '") + expected + "' at character " + std::to_string(position_));
  }
  std::string quoted() {
    skip_spaces();
    const char quote = position_ < text_.size() ? text_[position_] : '\0';
    if (quote != '\'' && quote != '"') fail("expected a quoted string at character " + std::to_string(position_));
    const size_t end = text_.find(quote, position_ + 1);
    if (end == std::string::npos) fail("unterminated string");
    std::string value = text_.substr(position_ + 1, end - position_ - 1);
    position_ = end + 1;
    return value;
  }
  bool boolean() {
    skip_spaces();
    for (const bool value : {true, false}) {
      const std::string word = value ? "True" : "False";
      if (text_.compare(position_, word.size(), word) == 0) {
        position_ += word.size();
        return value;
      }
    }
    fail("fortran_order is not True or False");
  }
  std::vector<int64_t> tuple_of_integers() {
    std::vector<int64_t> numbers;
    expect('(');
    while (!accept(')')) {
      skip_spaces();
      int64_t number = 0;
      size_t digits = 0;
      while (position_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[position_]))) {
        if (__builtin_mul_overflow(number, 10, &number) ||
            __builtin_add_overflow(number, text_[position_] - '0', &number))
          fail("a dimension of the shape is too large");
        ++position_;
        ++digits;
      }
      if (digits == 0) fail("the shape holds something other than non-negative integers");
      if (numbers.size() == kMaxDims) fail("the shape has too many dimensions");
      numbers.push_back(number);
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return numbers;
  }

  const std::string& path_;
  std::string text_;
  size_t position_ = 0;
};

// "(1, 3, 8, 8)", "(5,)" or "()".
std::string shape_literal(const torch::Tensor& tensor) {
  std::string literal = "(";
  for (int64_t i = 0; i < tensor.dim(); ++i) literal += (i ? ", " : "") + std::to_string(tensor.size(i));
  if (tensor.dim() == 1) literal += ",";
  return literal + ")";
}

}  // namespace npy

torch::Tensor read_npy(const std::string& path) {
  const MappedFile file(path);
  ByteReader reader(file.bytes(), path + ": truncated .npy file");
  if (file.size() < npy::kMagicSize || std::memcmp(file.bytes().data, npy::kMagic, npy::kMagicSize) != 0)
    throw Error(path + ": not a .npy file (it does not start with \\x93NUMPY)");
  reader.bytes(npy::kMagicSize);
  const uint8_t major_version = reader.u8();
  reader.u8();  // minor version
  if (major_version < 1 || major_version > 3)
    throw Error(path + ": unsupported .npy format version " + std::to_string(major_version));
  const uint32_t header_length = major_version == 1 ? reader.u16() : reader.u32();
  const npy::NpyHeader header = npy::NpyHeaderParser(path, reader.string(header_length)).parse();

  const std::optional<torch::ScalarType> dtype = npy::parse_descr(header.descr);
  if (!dtype)
    throw Error(path + ": unsupported .npy dtype '" + header.descr +
                "' (supported: little-endian f4, f2, f8, i8, i4, u1, b1)");
  if (header.fortran_order) throw Error(path + ": Fortran-ordered .npy arrays are not supported");
  const std::optional<int64_t> count = element_count(header.shape);
  const std::optional<int64_t> bytes = count ? byte_size(*count, *dtype) : std::nullopt;
  if (!bytes || static_cast<uint64_t>(*bytes) != reader.remaining())
    throw Error(path + ": the .npy data holds " + std::to_string(reader.remaining()) +
                " bytes, which does not match its shape and dtype");
  return tensor_from_bytes(reader.bytes(reader.remaining()), *dtype).reshape(header.shape);
}

void write_npy(const std::string& path, const torch::Tensor& tensor) {
  const torch::Tensor data = tensor.detach().to(torch::kCPU, torch::kFloat).contiguous();
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + npy::shape_literal(data) + ", }";
  // Magic, version and length take 10 bytes; the header is padded with spaces so that the data is aligned.
  const size_t prefix_size = npy::kMagicSize + 4;
  header.append((npy::kHeaderAlignment - (prefix_size + header.size() + 1) % npy::kHeaderAlignment) % npy::kHeaderAlignment, ' ');
  header += '\n';

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  const uint8_t version_and_length[4] = {1, 0, static_cast<uint8_t>(header.size() & 0xff),
                                         static_cast<uint8_t>(header.size() >> 8)};
  out.write(npy::kMagic, npy::kMagicSize);
  out.write(reinterpret_cast<const char*>(version_and_length), sizeof version_and_length);
  out << header;
  out.write(static_cast<const char*>(data.data_ptr()), static_cast<std::streamsize>(data.nbytes()));
  out.close();
  if (!out) throw Error(path + ": cannot write the .npy file: " + std::strerror(errno));
}

}  // namespace uprez
