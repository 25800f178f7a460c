// CLIP's byte-level BPE tokenizer as transformers 4.45's slow CLIPTokenizer runs it where ftfy is not installed:
// added tokens (bos/eos/unk/pad and the folder's added_tokens_decoder) split the text first; the rest goes through
// BasicTokenizer (control characters dropped, white space made spaces, CJK ideographs spaced, NFC, split on white
// space, str.lower()), CLIP's pattern, the byte-to-unicode mapping and BPE by merges.txt rank ("</w>" ends a word).
// Every Unicode operation is Python's for every code point (unicode_text.h). One difference: transformers' Trie
// splits on added tokens leftmost-longest only while no added token overlaps another inside the text (true of
// CLIP's); here the split is always leftmost-longest.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace uprez {

// transformers' AddedToken: matched in the text before anything else; lstrip/rstrip eat the white space on its
// left/right, single_word keeps it whole-word only. (normalized only matters to lower-casing tokenizers.)
struct ClipAddedToken {
  std::string content;
  bool lstrip = false, rstrip = false, single_word = false;
};

// What a tokenizer folder says besides vocab.json and merges.txt (CLIPTokenizer's defaults).
struct ClipSpecialTokens {
  ClipAddedToken bos{"<|startoftext|>"}, eos{"<|endoftext|>"}, unk{"<|endoftext|>"}, pad{"<|endoftext|>"};
  std::vector<ClipAddedToken> additional;                  // additional_special_tokens
  std::vector<std::pair<int64_t, ClipAddedToken>> added;  // added_tokens_decoder: id and token
  int64_t model_max_length = 77;
};

class ClipTokenizer {
 public:
  // Reads <dir>/vocab.json, merges.txt, and tokenizer_config.json / special_tokens_map.json where present, as
  // transformers' from_pretrained does (special_tokens_map.json counts only where tokenizer_config.json has no
  // added_tokens_decoder). Throws Error naming the file for missing/malformed files or a special token absent
  // from the vocabulary.
  static ClipTokenizer load(const std::string& dir);
  // The tokenizer of vocab.json + merges.txt with `special`; errors as load().
  static ClipTokenizer from_files(const std::string& vocab_json, const std::string& merges_txt,
                                  const ClipSpecialTokens& special);

  ClipTokenizer(ClipTokenizer&&) noexcept;
  ClipTokenizer& operator=(ClipTokenizer&&) noexcept;
  ~ClipTokenizer();

  // tokenizer.tokenize(text): the token strings (BPE symbols, "</w>" marking word ends), without BOS/EOS. `text`
  // is UTF-8 (else Error("text: ...")).
  std::vector<std::string> tokenize(const std::string& text) const;
  // BPE ids of `text` without BOS/EOS.
  std::vector<int64_t> encode(const std::string& text) const;
  // tokenizer(text, padding="max_length", max_length=L, truncation=True).input_ids with L = model_max_length():
  // BOS + ids truncated to L-2 + EOS, padded with pad_id() to L.
  std::vector<int64_t> input_ids(const std::string& text) const;
  // convert_tokens_to_ids: an added token's id, else the vocabulary's, else unk_id().
  int64_t token_id(const std::string& token) const;

  int64_t bos_id() const { return bos_id_; }
  int64_t eos_id() const { return eos_id_; }
  int64_t pad_id() const { return pad_id_; }
  int64_t unk_id() const { return unk_id_; }
  int64_t model_max_length() const { return model_max_length_; }

  struct Added;  // an added token as matched (clip_tokenizer.cpp)
  struct Cache;  // BPE results per word, shared by const calls

 private:
  ClipTokenizer();
  void add_token(const ClipAddedToken& token, int64_t id);
  int64_t special_id(const ClipAddedToken& token, const std::string& vocab_json);
  const std::vector<std::string>& bpe(const std::string& word) const;
  void tokenize_plain(const std::u32string& text, std::vector<std::string>& out) const;

  std::unordered_map<std::string, int64_t> vocab_;
  std::unordered_map<std::string, int64_t> ranks_;  // "first second" -> merge rank
  std::vector<Added> added_;
  std::unordered_map<std::string, int64_t> added_ids_;
  int64_t bos_id_ = 0, eos_id_ = 0, pad_id_ = 0, unk_id_ = 0, model_max_length_ = 77;
  std::unique_ptr<Cache> cache_;
};

}  // namespace uprez
