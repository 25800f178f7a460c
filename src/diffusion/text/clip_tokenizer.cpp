#include "diffusion/text/clip_tokenizer.h"

#include <algorithm>
#include <array>
#include <climits>
#include <fstream>
#include <mutex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "diffusion/text/unicode_text.h"

namespace uprez {

struct ClipTokenizer::Added {
  std::u32string content;
  ClipAddedToken token;
};

struct ClipTokenizer::Cache {
  std::mutex mutex;
  std::unordered_map<std::string, std::vector<std::string>> words;
};

namespace clip_tokenizer {

namespace tables = unicode_tables;
using Added = ClipTokenizer::Added;

// CLIPTokenizer reads the merges after the header line up to this many.
constexpr size_t kMaxMerges = 49152 - 256 - 2;

// ---- files

bool file_exists(const std::string& path) { return std::ifstream(path).good(); }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot be opened");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

nlohmann::json read_json(const std::string& path) {
  try {
    return nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": is not valid JSON (" + one_line_message(e) + ")");
  }
}

std::unordered_map<std::string, int64_t> read_vocab(const std::string& path) {
  const nlohmann::json json = read_json(path);
  if (!json.is_object()) throw Error(path + ": is not a JSON object of token ids");
  std::unordered_map<std::string, int64_t> vocab;
  vocab.reserve(json.size());
  for (const auto& [token, id] : json.items()) {
    if (!id.is_number_integer()) throw Error(path + ": the id of \"" + token + "\" is not an integer");
    vocab.emplace(token, id.get<int64_t>());
  }
  return vocab;
}

// The fields of a merges.txt line ("first second"), split on spaces and tabs.
std::vector<std::string> fields_of(const std::string& line) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (i < line.size()) {
    const size_t start = line.find_first_not_of(" \t", i);
    if (start == std::string::npos) break;
    i = std::min(line.find_first_of(" \t", start), line.size());
    fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

// merges.txt as CLIPTokenizer reads it: the text stripped, its first line skipped, at most kMaxMerges lines; a
// pair listed twice keeps its later rank. Any line that is not two fields is an error here.
std::unordered_map<std::string, int64_t> read_merges(const std::string& path) {
  const std::string text = read_file(path);
  const size_t begin = text.find_first_not_of(" \t\r\n\f\v");
  const size_t end = text.find_last_not_of(" \t\r\n\f\v") + 1;
  std::unordered_map<std::string, int64_t> ranks;
  ranks.reserve(kMaxMerges);
  if (begin == std::string::npos) return ranks;
  std::istringstream lines(text.substr(begin, end - begin));
  std::string line;
  std::getline(lines, line);  // "#version: 0.2"
  const size_t first_line = 2 + std::count(text.begin(), text.begin() + begin, '\n');
  for (size_t rank = 0; rank < kMaxMerges && std::getline(lines, line); ++rank) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::vector<std::string> fields = fields_of(line);
    if (fields.size() != 2)
      throw Error(path + ": line " + std::to_string(first_line + rank) + " is not a merge \"first second\": \"" +
                  line + "\"");
    ranks[fields[0] + ' ' + fields[1]] = static_cast<int64_t>(rank);
  }
  return ranks;
}

// A special token in a config: a string, or an AddedToken object {"content": ..., "lstrip": ..., ...}.
ClipAddedToken parse_token(const nlohmann::json& value, const std::string& what) {
  if (value.is_string()) return ClipAddedToken{value.get<std::string>()};
  if (!value.is_object() || !value.contains("content") || !value["content"].is_string())
    throw Error(what + " is neither a string nor an object with a string \"content\"");
  ClipAddedToken token{value["content"].get<std::string>()};
  const auto flag = [&](const char* key) {
    const auto it = value.find(key);
    if (it == value.end() || it->is_null()) return false;
    if (!it->is_boolean()) throw Error(what + ": \"" + key + "\" is not a boolean");
    return it->get<bool>();
  };
  token.lstrip = flag("lstrip");
  token.rstrip = flag("rstrip");
  token.single_word = flag("single_word");
  return token;
}

// bos_token, eos_token, unk_token, pad_token, additional_special_tokens where `json` has them.
void read_token_fields(const nlohmann::json& json, const std::string& path, ClipSpecialTokens& special) {
  const std::pair<const char*, ClipAddedToken*> fields[] = {{"bos_token", &special.bos},
                                                            {"eos_token", &special.eos},
                                                            {"unk_token", &special.unk},
                                                            {"pad_token", &special.pad}};
  for (const auto& [key, token] : fields) {
    if (!json.contains(key)) continue;
    if (json[key].is_null()) throw Error(path + ": \"" + key + "\" is null (CLIP needs it)");
    *token = parse_token(json[key], path + ": \"" + key + "\"");
  }
  const auto additional = json.find("additional_special_tokens");
  if (additional == json.end() || additional->is_null()) return;
  if (!additional->is_array()) throw Error(path + ": \"additional_special_tokens\" is not a list");
  for (const nlohmann::json& value : *additional) {  // a later file's list adds to an earlier one's
    const ClipAddedToken token = parse_token(value, path + ": an additional_special_tokens entry");
    const auto same = [&](const ClipAddedToken& t) { return t.content == token.content; };
    if (std::none_of(special.additional.begin(), special.additional.end(), same)) special.additional.push_back(token);
  }
}

void read_added_tokens(const nlohmann::json& decoder, const std::string& path, ClipSpecialTokens& special) {
  if (!decoder.is_object()) throw Error(path + ": \"added_tokens_decoder\" is not an object");
  for (const auto& [key, value] : decoder.items()) {
    const std::string what = path + ": added_tokens_decoder \"" + key + "\"";
    size_t used = 0;
    int64_t id = -1;
    try {
      id = std::stoll(key, &used);
    } catch (const std::exception&) {
    }
    if (used != key.size() || id < 0) throw Error(what + ": the key is not a token id");
    special.added.emplace_back(id, parse_token(value, what));
  }
}

int64_t read_model_max_length(const nlohmann::json& config, const std::string& path) {
  const auto it = config.find("model_max_length");
  if (it == config.end() || it->is_null()) return 77;
  const double value = it->is_number() ? it->get<double>() : -1;
  if (value < 2 || value > 1e6 || value != static_cast<double>(static_cast<int64_t>(value)))
    throw Error(path + ": \"model_max_length\" " + it->dump() + " is not a token count from 2 to 1000000");
  return static_cast<int64_t>(value);
}

// transformers' from_pretrained: tokenizer_config.json gives the tokens; with added_tokens_decoder in it, that
// decides each token's id and flags, else (legacy) special_tokens_map.json overrides the config's tokens.
ClipSpecialTokens read_special_tokens(const std::string& dir) {
  const std::string config_path = dir + "/tokenizer_config.json", map_path = dir + "/special_tokens_map.json";
  const nlohmann::json config = file_exists(config_path) ? read_json(config_path) : nlohmann::json::object();
  if (!config.is_object()) throw Error(config_path + ": is not a JSON object");
  ClipSpecialTokens special;
  read_token_fields(config, config_path, special);
  special.model_max_length = read_model_max_length(config, config_path);
  if (config.contains("added_tokens_decoder")) {
    read_added_tokens(config["added_tokens_decoder"], config_path, special);
  } else if (file_exists(map_path)) {
    const nlohmann::json map = read_json(map_path);
    if (!map.is_object()) throw Error(map_path + ": is not a JSON object");
    read_token_fields(map, map_path, special);
  }
  return special;
}

// ---- text

// bytes_to_unicode(): the BPE symbol (UTF-8) standing for each byte.
const std::array<std::string, 256>& byte_symbols() {
  static const std::array<std::string, 256> symbols = [] {
    std::array<std::string, 256> out;
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      unicode_text::append_utf8(out[b], printable ? static_cast<char32_t>(b) : next++);
    }
    return out;
  }();
  return symbols;
}

// Python's str.lstrip() / str.rstrip().
std::u32string lstrip(const std::u32string& s) {
  size_t i = 0;
  while (i < s.size() && unicode_text::is_space(s[i])) ++i;
  return s.substr(i);
}

std::u32string rstrip(const std::u32string& s) {
  size_t n = s.size();
  while (n > 0 && unicode_text::is_space(s[n - 1])) --n;
  return s.substr(0, n);
}

int find_added(const std::vector<Added>& added, const std::u32string& text) {
  for (size_t i = 0; i < added.size(); ++i)
    if (added[i].content == text) return static_cast<int>(i);
  return -1;
}

size_t longest_added_at(const std::u32string& text, size_t at, const std::vector<Added>& added) {
  size_t longest = 0;
  for (const Added& a : added)
    if (a.content.size() > longest && text.compare(at, a.content.size(), a.content) == 0) longest = a.content.size();
  return longest;
}

// Trie.split: the text cut around every added token found, leftmost-longest.
std::vector<std::u32string> split_on_added(const std::u32string& text, const std::vector<Added>& added) {
  std::vector<std::u32string> pieces;
  size_t start = 0, i = 0;
  while (i < text.size()) {
    const size_t length = longest_added_at(text, i, added);
    if (length == 0) {
      ++i;
      continue;
    }
    if (i > start) pieces.push_back(text.substr(start, i - start));
    pieces.push_back(text.substr(i, length));
    i += length;
    start = i;
  }
  if (start < text.size()) pieces.push_back(text.substr(start));
  return pieces;
}

// PreTrainedTokenizer.tokenize's pass over the pieces: an added token's lstrip/rstrip strip its neighbours, and a
// single_word token inside a word is glued back into it.
void apply_added_flags(std::vector<std::u32string>& pieces, const std::vector<Added>& added) {
  for (size_t i = 0; i < pieces.size(); ++i) {
    const int index = find_added(added, pieces[i]);
    if (index < 0) continue;
    const ClipAddedToken& flags = added[index].token;
    const std::u32string token = pieces[i];
    const std::u32string left = i > 0 ? pieces[i - 1] : U"";
    const std::u32string right = i + 1 < pieces.size() ? pieces[i + 1] : U"";
    if (flags.rstrip && !right.empty()) pieces[i + 1] = lstrip(right);
    if (flags.lstrip && !left.empty()) pieces[i - 1] = rstrip(left);
    if (flags.single_word && !left.empty() && left.back() != U' ') {
      pieces[i - 1] += token;
      pieces[i].clear();
    } else if (flags.single_word && !right.empty() && right.front() != U' ') {
      pieces[i + 1] = token + pieces[i + 1];
      pieces[i].clear();
    }
  }
}

bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

// BasicTokenizer._clean_text then _tokenize_chinese_chars.
std::u32string clean_text(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    const tables::CleanClass clean = unicode_text::clean_class(c);
    if (c == U'\t' || c == U'\n' || c == U'\r' || clean == tables::kCleanSpace) {
      out.push_back(U' ');
    } else if (c == 0 || c == 0xFFFD || clean == tables::kCleanControl) {
      continue;
    } else if (is_cjk(c)) {
      out += {U' ', c, U' '};
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// " ".join(BasicTokenizer(strip_accents=False, do_split_on_punc=False).tokenize(text)).
std::u32string basic_tokenize(const std::u32string& text) {
  const std::u32string normalized = unicode_text::nfc(clean_text(text));
  std::u32string out;
  size_t i = 0;
  while (i < normalized.size()) {
    if (unicode_text::is_space(normalized[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < normalized.size() && !unicode_text::is_space(normalized[end])) ++end;
    if (!out.empty()) out.push_back(U' ');
    out += unicode_text::lower(normalized.substr(i, end - i));
    i = end;
  }
  return out;
}

// text[at...] equals the ASCII `literal` under the pattern's IGNORECASE (where U+017F, long s, is an 's').
size_t match_literal(const std::u32string& text, size_t at, const char* literal) {
  size_t n = 0;
  for (; literal[n] != 0; ++n) {
    if (at + n >= text.size()) return 0;
    const char32_t c = text[at + n], l = static_cast<unsigned char>(literal[n]);
    const bool same = c == l || (l >= 'a' && l <= 'z' && c == l - 32) || (l == 's' && c == 0x17F);
    if (!same) return 0;
  }
  return n;
}

size_t match_run(const std::u32string& text, size_t at, tables::PatternClass cls) {
  size_t end = at;
  while (end < text.size() && unicode_text::pattern_class(text[end]) == cls) ++end;
  return end - at;
}

// The length of CLIP's pattern's match at text[at] (0: none):
// <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
size_t match_pattern(const std::u32string& text, size_t at) {
  static const char* const kLiterals[] = {"<|startoftext|>", "<|endoftext|>", "'s", "'t", "'re", "'ve", "'m",
                                          "'ll", "'d"};
  for (const char* literal : kLiterals)
    if (const size_t n = match_literal(text, at, literal)) return n;
  const tables::PatternClass cls = unicode_text::pattern_class(text[at]);
  if (cls == tables::kPatternNumber) return 1;
  return cls == tables::kPatternNone ? 0 : match_run(text, at, cls);
}

// re.findall(pattern, text).
std::vector<std::u32string> pattern_pieces(const std::u32string& text) {
  std::vector<std::u32string> pieces;
  size_t i = 0;
  while (i < text.size()) {
    const size_t n = match_pattern(text, i);
    if (n > 0) pieces.push_back(text.substr(i, n));
    i += std::max<size_t>(n, 1);
  }
  return pieces;
}

// CLIPTokenizer.bpe on symbols: merge the lowest-ranked adjacent pair everywhere, left to right, until none is
// ranked.
std::vector<std::string> merge_symbols(std::vector<std::string> word,
                                       const std::unordered_map<std::string, int64_t>& ranks) {
  while (word.size() > 1) {
    int64_t best = INT64_MAX;
    size_t best_at = 0;
    for (size_t i = 0; i + 1 < word.size(); ++i) {
      const auto it = ranks.find(word[i] + ' ' + word[i + 1]);
      if (it != ranks.end() && it->second < best) best = it->second, best_at = i;
    }
    if (best == INT64_MAX) break;
    const std::string first = word[best_at], second = word[best_at + 1];
    std::vector<std::string> merged;
    merged.reserve(word.size());
    for (size_t i = 0; i < word.size(); ++i) {
      if (i + 1 < word.size() && word[i] == first && word[i + 1] == second) {
        merged.push_back(first + second);
        ++i;
      } else {
        merged.push_back(word[i]);
      }
    }
    word = std::move(merged);
  }
  return word;
}

}  // namespace clip_tokenizer

ClipTokenizer::ClipTokenizer() : cache_(std::make_unique<Cache>()) {}
ClipTokenizer::ClipTokenizer(ClipTokenizer&&) noexcept = default;
ClipTokenizer& ClipTokenizer::operator=(ClipTokenizer&&) noexcept = default;
ClipTokenizer::~ClipTokenizer() = default;

ClipTokenizer ClipTokenizer::load(const std::string& dir) {
  return from_files(dir + "/vocab.json", dir + "/merges.txt", clip_tokenizer::read_special_tokens(dir));
}

ClipTokenizer ClipTokenizer::from_files(const std::string& vocab_json, const std::string& merges_txt,
                                        const ClipSpecialTokens& special) {
  ClipTokenizer tokenizer;
  tokenizer.vocab_ = clip_tokenizer::read_vocab(vocab_json);
  tokenizer.ranks_ = clip_tokenizer::read_merges(merges_txt);
  for (const auto& [id, token] : special.added) tokenizer.add_token(token, id);
  std::vector<const ClipAddedToken*> specials = {&special.bos, &special.eos, &special.unk, &special.pad};
  for (const ClipAddedToken& token : special.additional) specials.push_back(&token);
  for (const ClipAddedToken* token : specials) tokenizer.add_token(*token, tokenizer.special_id(*token, vocab_json));
  tokenizer.bos_id_ = tokenizer.token_id(special.bos.content);
  tokenizer.eos_id_ = tokenizer.token_id(special.eos.content);
  tokenizer.unk_id_ = tokenizer.token_id(special.unk.content);
  tokenizer.pad_id_ = tokenizer.token_id(special.pad.content);
  if (special.model_max_length < 2) throw Error("model_max_length: must be at least 2 (BOS and EOS)");
  tokenizer.model_max_length_ = special.model_max_length;
  return tokenizer;
}

// The id of a special token: an added token's, else the vocabulary's.
int64_t ClipTokenizer::special_id(const ClipAddedToken& token, const std::string& vocab_json) {
  const auto added = added_ids_.find(token.content);
  if (added != added_ids_.end()) return added->second;
  const auto it = vocab_.find(token.content);
  if (it == vocab_.end())
    throw Error(vocab_json + ": has no special token \"" + token.content + "\" in its vocabulary");
  return it->second;
}

// The first token of a content counts (as transformers' all_special_tokens_extended); empty ones match nothing.
void ClipTokenizer::add_token(const ClipAddedToken& token, int64_t id) {
  if (added_ids_.count(token.content) != 0) return;
  added_ids_.emplace(token.content, id);
  if (!token.content.empty())
    added_.push_back(Added{unicode_text::decode_utf8(token.content, "added token"), token});
}

int64_t ClipTokenizer::token_id(const std::string& token) const {
  const auto added = added_ids_.find(token);
  if (added != added_ids_.end()) return added->second;
  const auto it = vocab_.find(token);
  return it == vocab_.end() ? unk_id_ : it->second;
}

const std::vector<std::string>& ClipTokenizer::bpe(const std::string& word) const {
  std::lock_guard<std::mutex> lock(cache_->mutex);
  const auto cached = cache_->words.find(word);
  if (cached != cache_->words.end()) return cached->second;
  std::vector<std::string> symbols;
  if (word == "<|startoftext|>" || word == "<|endoftext|>") {
    symbols.push_back(word);  // CLIPTokenizer's cache starts with these two
  } else {
    for (unsigned char byte : word) symbols.push_back(clip_tokenizer::byte_symbols()[byte]);
    symbols.back() += "</w>";
    symbols = clip_tokenizer::merge_symbols(std::move(symbols), ranks_);
  }
  return cache_->words.emplace(word, std::move(symbols)).first->second;
}

// CLIPTokenizer._tokenize: BasicTokenizer, the pattern, BPE of each piece's UTF-8 bytes.
void ClipTokenizer::tokenize_plain(const std::u32string& text, std::vector<std::string>& out) const {
  for (const std::u32string& piece : clip_tokenizer::pattern_pieces(clip_tokenizer::basic_tokenize(text))) {
    const std::vector<std::string>& symbols = bpe(unicode_text::encode_utf8(piece));
    out.insert(out.end(), symbols.begin(), symbols.end());
  }
}

std::vector<std::string> ClipTokenizer::tokenize(const std::string& text) const {
  std::vector<std::u32string> pieces = clip_tokenizer::split_on_added(unicode_text::decode_utf8(text, "text"), added_);
  clip_tokenizer::apply_added_flags(pieces, added_);
  std::vector<std::string> tokens;
  for (const std::u32string& piece : pieces) {
    if (piece.empty()) continue;
    if (clip_tokenizer::find_added(added_, piece) >= 0)
      tokens.push_back(unicode_text::encode_utf8(piece));
    else
      tokenize_plain(piece, tokens);
  }
  return tokens;
}

std::vector<int64_t> ClipTokenizer::encode(const std::string& text) const {
  std::vector<int64_t> ids;
  for (const std::string& token : tokenize(text)) ids.push_back(token_id(token));
  return ids;
}

std::vector<int64_t> ClipTokenizer::input_ids(const std::string& text) const {
  std::vector<int64_t> ids = encode(text);
  const size_t room = static_cast<size_t>(model_max_length_ - 2);
  if (ids.size() > room) ids.resize(room);
  std::vector<int64_t> out = {bos_id_};
  out.insert(out.end(), ids.begin(), ids.end());
  out.push_back(eos_id_);
  out.resize(static_cast<size_t>(model_max_length_), pad_id_);
  return out;
}

}  // namespace uprez
