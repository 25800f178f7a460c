// Text operations as Python 3 does them on str, for the CLIP tokenizer: UTF-8 decoding and encoding, character
// classes (unicodedata.category's, and those of CLIP's pattern in the regex module), str.isspace(), str.lower()
// (every code point, with the Final_Sigma rule) and unicodedata.normalize("NFC"). The data is Python 3.11's
// (Unicode 14.0) and regex 2026.5's: see unicode_tables.h.
#pragma once
#include <string>

#include "diffusion/text/unicode_tables.h"

namespace uprez::unicode_text {

// Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF); throws
// Error("<what>: is not valid UTF-8 at byte N") otherwise.
std::u32string decode_utf8(const std::string& text, const std::string& what);
std::string encode_utf8(const std::u32string& text);
void append_utf8(std::string& out, char32_t code);

// The class of CLIP's pattern that takes c, and what BasicTokenizer._clean_text does with it (unicode_tables.h).
unicode_tables::PatternClass pattern_class(char32_t c);
unicode_tables::CleanClass clean_class(char32_t c);
// str.isspace() of one character.
bool is_space(char32_t c);

// str.lower(): full lower-case mappings (U+0130 becomes two code points) and capital sigma's Final_Sigma rule.
std::u32string lower(const std::u32string& text);

// unicodedata.normalize("NFC", text): canonical decomposition (Hangul included), canonical ordering, composition.
std::u32string nfc(const std::u32string& text);

}  // namespace uprez::unicode_text
