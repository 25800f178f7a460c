#include "ncnn/param_file.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>
#include <string_view>

#include "core/error.h"
#include "io/mapped_file.h"

namespace uprez::ncnn {

namespace param_file {

constexpr char kMagic[] = "7767517";
// ncnn's NCNN_MAX_PARAM_COUNT: ids run from 0 to 31.
constexpr int kParamIdCount = 32;
// Ids ncnn reads itself rather than passing on to the layer: output shape hints and the feature mask.
constexpr int kShapeHintsId = 30;
constexpr int kFeatureMaskId = 31;
// Old-style arrays are written with the id -(kOldArrayBase + id).
constexpr int64_t kOldArrayBase = 23300;
// Beyond this exponent a float is infinite (or zero) anyway; the cap keeps the scaling loop short.
constexpr double kLargestUsefulExponent = 400;
// How much of an offending line an error message quotes.
constexpr size_t kQuoteLimit = 60;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

std::vector<std::string> split_tokens(std::string_view line) {
  std::vector<std::string> tokens;
  size_t position = 0;
  while (position < line.size()) {
    while (position < line.size() && is_space(line[position])) ++position;
    const size_t start = position;
    while (position < line.size() && !is_space(line[position])) ++position;
    if (position > start) tokens.emplace_back(line.substr(start, position - start));
  }
  return tokens;
}

std::vector<std::string_view> split_commas(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t comma = text.find(','); comma != std::string_view::npos; comma = text.find(',', start)) {
    parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  parts.push_back(text.substr(start));
  return parts;
}

// `text` in quotes for a one-line message: shortened, with control bytes shown as '?'.
std::string excerpt(std::string_view text) {
  std::string shown(text.substr(0, kQuoteLimit));
  for (char& c : shown)
    if (std::iscntrl(static_cast<unsigned char>(c))) c = '?';
  return "'" + shown + (text.size() > kQuoteLimit ? "...'" : "'");
}

// A whole decimal integer with an optional sign; nullopt when malformed or beyond int64.
std::optional<int64_t> parse_integer(std::string_view text) {
  size_t position = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) ++position;
  if (position == text.size()) return std::nullopt;
  uint64_t magnitude = 0;
  const uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (negative ? 1 : 0);
  for (; position < text.size(); ++position) {
    if (!std::isdigit(static_cast<unsigned char>(text[position]))) return std::nullopt;
    const uint64_t digit = static_cast<uint64_t>(text[position] - '0');
    if (magnitude > (limit - digit) / 10) return std::nullopt;
    magnitude = magnitude * 10 + digit;
  }
  return negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
}

// Digits from `position` on, accumulated into `value` (and counted).
size_t take_digits(std::string_view text, size_t& position, double& value) {
  const size_t start = position;
  for (; position < text.size() && std::isdigit(static_cast<unsigned char>(text[position])); ++position)
    value = value * 10 + (text[position] - '0');
  return position - start;
}

// A float in ncnn's text form, [+-]digits[.digits][(e|E)[+-]digits], evaluated the way ncnn's vstr_to_float does
// (integer part plus fraction in double, times or divided by a power of ten, then rounded to float) so that the
// values match ncnn's bit for bit; nullopt when malformed.
std::optional<double> parse_float(std::string_view text) {
  size_t position = 0;
  const bool negative = !text.empty() && text[0] == '-';
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) ++position;

  double value = 0;
  size_t mantissa_digits = take_digits(text, position, value);
  if (position < text.size() && text[position] == '.') {
    ++position;
    double fraction = 0;
    const size_t fraction_digits = take_digits(text, position, fraction);
    double divisor = 1;
    for (size_t i = 0; i < fraction_digits; ++i) divisor *= 10;
    value += fraction / divisor;
    mantissa_digits += fraction_digits;
  }
  if (mantissa_digits == 0) return std::nullopt;

  if (position < text.size() && (text[position] == 'e' || text[position] == 'E')) {
    ++position;
    const bool negative_exponent = position < text.size() && text[position] == '-';
    if (position < text.size() && (text[position] == '-' || text[position] == '+')) ++position;
    double exponent = 0;
    if (take_digits(text, position, exponent) == 0) return std::nullopt;
    exponent = std::min(exponent, kLargestUsefulExponent);
    double scale = 1;
    for (; exponent >= 8; exponent -= 8) scale *= 1e8;
    for (; exponent > 0; exponent -= 1) scale *= 10;
    value = negative_exponent ? value / scale : value * scale;
  }
  if (position != text.size()) return std::nullopt;
  return static_cast<double>(static_cast<float>(negative ? -value : value));
}

bool looks_like_float(std::string_view text) { return text.find_first_of(".eE") != std::string_view::npos; }

[[noreturn]] void fail_parameter(const std::string& context, const std::string& token, const std::string& problem) {
  throw Error(context + ": parameter " + excerpt(token) + ": " + problem);
}

// The value of parameter `token` from its comma-separated elements.
ParamDict::Value parse_value(const std::vector<std::string_view>& elements, bool is_array, const std::string& context,
                             const std::string& token) {
  const auto fail = [&](const std::string& problem) { fail_parameter(context, token, problem); };
  ParamDict::Value value;
  value.is_array = is_array;
  for (const std::string_view element : elements)
    if (looks_like_float(element)) value.is_float = true;
  for (const std::string_view element : elements) {
    if (element.empty()) fail("empty value");
    if (std::isalpha(static_cast<unsigned char>(element[0])) || element[0] == '"')
      fail("string values are not supported");
    if (looks_like_float(element)) {
      const std::optional<double> number = parse_float(element);
      if (!number) fail("malformed float " + excerpt(element));
      value.numbers.push_back(*number);
    } else {
      const std::optional<int64_t> number = parse_integer(element);
      if (!number || *number < std::numeric_limits<int>::min() || *number > std::numeric_limits<int>::max())
        fail("malformed or out-of-range integer " + excerpt(element));
      value.numbers.push_back(static_cast<double>(*number));
    }
  }
  return value;
}

// A non-blank line of the file: its 1-based number and its tokens.
struct Line {
  int number = 0;
  std::vector<std::string> tokens;
  std::string_view text;
};

// The non-blank lines of a text, one at a time.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}

  bool next(Line& line) {
    while (position_ < text_.size()) {
      const size_t newline = text_.find('\n', position_);
      const size_t end = newline == std::string_view::npos ? text_.size() : newline;
      line.text = text_.substr(position_, end - position_);
      line.number = ++line_number_;
      line.tokens = split_tokens(line.text);
      position_ = end + 1;
      if (!line.tokens.empty()) return true;
    }
    return false;
  }

 private:
  std::string_view text_;
  size_t position_ = 0;
  int line_number_ = 0;
};

class ParamFileParser {
 public:
  explicit ParamFileParser(const std::string& path) : path_(path) {}

  ParamFile parse(std::string_view text) {
    LineReader lines(text);
    Line line;
    if (!lines.next(line)) throw Error(path_ + ": empty file, not an ncnn .param file");
    if (line.tokens.size() != 1 || line.tokens[0] != kMagic)
      fail(line, "not an ncnn .param file: expected the magic number " + std::string(kMagic) + ", found " +
                     excerpt(line.text));

    if (!lines.next(line)) throw Error(path_ + ": truncated: no '<layer count> <blob count>' line after the magic");
    if (line.tokens.size() != 2) fail(line, "expected '<layer count> <blob count>', found " + excerpt(line.text));
    const int counts_line = line.number;
    const int layer_count = count(line, line.tokens[0], "layer count", 1);
    ParamFile file;
    file.blob_count = count(line, line.tokens[1], "blob count", 1);
    file.counts_location = location(line);

    // Layers are appended as lines come, never reserved from the declared count.
    while (lines.next(line)) {
      if (file.layers.size() == static_cast<size_t>(layer_count))
        fail(line, "more layer lines than the " + std::to_string(layer_count) + " declared on line " +
                       std::to_string(counts_line));
      file.layers.push_back(parse_layer(line));
    }
    if (file.layers.size() != static_cast<size_t>(layer_count))
      throw Error(path_ + ": truncated: line " + std::to_string(counts_line) + " declares " +
                  std::to_string(layer_count) + " layers, the file has " + std::to_string(file.layers.size()));
    return file;
  }

 private:
  std::string location(const Line& line) const { return path_ + ":" + std::to_string(line.number); }

  [[noreturn]] void fail(const Line& line, const std::string& message) const {
    throw Error(location(line) + ": " + message);
  }

  // A count written as `text`: an integer from `minimum` to INT_MAX.
  int count(const Line& line, const std::string& text, const std::string& what, int minimum) const {
    const std::optional<int64_t> value = parse_integer(text);
    if (!value) fail(line, what + " " + excerpt(text) + " is not an integer");
    if (*value < minimum || *value > std::numeric_limits<int>::max())
      fail(line, what + " " + text + " is out of range (" + std::to_string(minimum) + " to " +
                     std::to_string(std::numeric_limits<int>::max()) + ")");
    return static_cast<int>(*value);
  }

  ParamLayer parse_layer(const Line& line) const {
    const std::vector<std::string>& tokens = line.tokens;
    if (tokens.size() < 4)
      fail(line, "expected '<type> <name> <input count> <output count> <blobs...> <id=value...>', found " +
                     excerpt(line.text));
    ParamLayer layer;
    layer.type = tokens[0];
    layer.name = tokens[1];
    layer.location = location(line);
    const std::string context = layer.location + ": " + layer.type + " " + layer.name;
    const size_t input_count = static_cast<size_t>(count(line, tokens[2], layer.type + " input count", 0));
    const size_t output_count = static_cast<size_t>(count(line, tokens[3], layer.type + " output count", 0));
    const size_t names_given = tokens.size() - 4;
    if (input_count > names_given || output_count > names_given - input_count)
      throw Error(context + ": lists " + std::to_string(input_count) + " inputs and " + std::to_string(output_count) +
                  " outputs, but only " + std::to_string(names_given) + " names follow");

    const auto first_input = tokens.begin() + 4;
    const auto first_output = first_input + static_cast<std::ptrdiff_t>(input_count);
    const auto first_param = first_output + static_cast<std::ptrdiff_t>(output_count);
    for (auto name = first_input; name != first_param; ++name)
      if (name->find('=') != std::string::npos)
        throw Error(context + ": blob name " + excerpt(*name) +
                    " looks like a parameter (are the input and output counts right?)");
    layer.inputs.assign(first_input, first_output);
    layer.outputs.assign(first_output, first_param);
    layer.params = parse_param_pairs(std::vector<std::string>(first_param, tokens.end()), context);
    return layer;
  }

  std::string path_;
};

}  // namespace param_file

ParamDict parse_param_pairs(const std::vector<std::string>& tokens, const std::string& context) {
  ParamDict params(context);
  for (const std::string& token : tokens) {
    const auto fail = [&](const std::string& problem) { param_file::fail_parameter(context, token, problem); };
    const size_t equals = token.find('=');
    if (equals == std::string::npos) fail("expected id=value");
    const std::optional<int64_t> key = param_file::parse_integer(std::string_view(token).substr(0, equals));
    if (!key || *key < std::numeric_limits<int>::min() || *key > std::numeric_limits<int>::max())
      fail("the id is not an integer");
    const std::string_view value_text = std::string_view(token).substr(equals + 1);
    if (value_text.empty()) fail("missing value");

    std::vector<std::string_view> elements = param_file::split_commas(value_text);
    const bool old_style_array = *key <= -param_file::kOldArrayBase;
    const int64_t id = old_style_array ? -*key - param_file::kOldArrayBase : *key;
    if (id < 0 || id >= param_file::kParamIdCount)
      fail("id " + std::to_string(id) + " is out of range (0 to " + std::to_string(param_file::kParamIdCount - 1) + ")");

    bool is_array = elements.size() > 1;
    if (old_style_array) {
      const std::optional<int64_t> length = param_file::parse_integer(elements[0]);
      if (!length) fail("the array length " + param_file::excerpt(elements[0]) + " is not an integer");
      elements.erase(elements.begin());
      if (*length != static_cast<int64_t>(elements.size()))
        fail("the array length is " + std::to_string(*length) + " but " + std::to_string(elements.size()) +
             " elements follow");
      is_array = true;
    } else if (is_array && elements.back().empty()) {
      elements.pop_back();  // ncnn ends an array at a trailing comma, so "id=v," is a one-element array
    }

    ParamDict::Value value = param_file::parse_value(elements, is_array, context, token);
    if (id != param_file::kShapeHintsId && id != param_file::kFeatureMaskId) params.set(static_cast<int>(id), std::move(value));
  }
  return params;
}

ParamFile read_param_file(const std::string& path) {
  const MappedFile file(path);
  const std::string_view text(reinterpret_cast<const char*>(file.bytes().data), file.size());
  return param_file::ParamFileParser(path).parse(text);
}

}  // namespace uprez::ncnn
