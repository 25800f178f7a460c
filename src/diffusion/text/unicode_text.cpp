#include "diffusion/text/unicode_text.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>

#include "core/error.h"

namespace uprez::unicode_text {

namespace tables = unicode_tables;

// The run (start-sorted table) whose start is the last at or before c.
template <typename Run>
const Run& run_of(const Run* runs, size_t count, char32_t c) {
  const Run* end = runs + count;
  const Run* after = std::upper_bound(runs, end, c, [](char32_t x, const Run& r) { return x < r.start; });
  return *(after - 1);
}

bool in_ranges(const tables::CodeRange* ranges, size_t count, char32_t c) {
  const tables::CodeRange* end = ranges + count;
  const tables::CodeRange* it =
      std::lower_bound(ranges, end, c, [](const tables::CodeRange& r, char32_t x) { return r.last < x; });
  return it != end && it->first <= c;
}

// Reads the code point at text[i] and moves i past it; false for anything strict UTF-8 does not allow.
bool next_code_point(const std::string& text, size_t& i, char32_t& code) {
  const auto lead = static_cast<unsigned char>(text[i]);
  if (lead < 0x80) {
    code = lead;
    ++i;
    return true;
  }
  const int extra = (lead & 0xE0) == 0xC0 ? 1 : (lead & 0xF0) == 0xE0 ? 2 : (lead & 0xF8) == 0xF0 ? 3 : 0;
  if (extra == 0 || i + extra >= text.size()) return false;
  static const char32_t kMinimum[] = {0, 0x80, 0x800, 0x10000};
  code = lead & (0x7F >> (extra + 1));
  for (int k = 1; k <= extra; ++k) {
    const auto byte = static_cast<unsigned char>(text[i + k]);
    if ((byte & 0xC0) != 0x80) return false;
    code = (code << 6) | (byte & 0x3F);
  }
  if (code < kMinimum[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
  i += extra + 1;
  return true;
}

std::u32string decode_utf8(const std::string& text, const std::string& what) {
  std::u32string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const size_t at = i;
    char32_t code = 0;
    if (!next_code_point(text, i, code))
      throw Error(what + ": is not valid UTF-8 at byte " + std::to_string(at));
    out.push_back(code);
  }
  return out;
}

void append_utf8(std::string& out, char32_t code) {
  if (code < 0x80) {
    out.push_back(static_cast<char>(code));
  } else if (code < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code >> 6)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else if (code < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
  }
}

std::string encode_utf8(const std::u32string& text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text) append_utf8(out, c);
  return out;
}

uint8_t classes_of(char32_t c) {
  if (c > 0x10FFFF) return tables::kCleanControl;
  return run_of(tables::kClassRuns, tables::kClassRunsCount, c).classes;
}

tables::PatternClass pattern_class(char32_t c) { return static_cast<tables::PatternClass>(classes_of(c) & 3); }
tables::CleanClass clean_class(char32_t c) { return static_cast<tables::CleanClass>(classes_of(c) & 12); }

bool is_space(char32_t c) { return in_ranges(tables::kPythonSpaces, tables::kPythonSpacesCount, c); }

// ---- str.lower()

char32_t lower_single(char32_t c) {
  if (c < tables::kLowerRuns[0].start) return c;
  const tables::LowerRun& run = run_of(tables::kLowerRuns, tables::kLowerRunsCount, c);
  const char32_t offset = c - run.start;
  if (offset % run.stride != 0 || offset / run.stride >= run.count) return c;
  return static_cast<char32_t>(static_cast<int64_t>(c) + run.delta);
}

bool is_case_ignorable(char32_t c) { return in_ranges(tables::kCaseIgnorable, tables::kCaseIgnorableCount, c); }
bool is_cased(char32_t c) { return in_ranges(tables::kCased, tables::kCasedCount, c); }

// Final_Sigma: a cased letter before (case-ignorables skipped) and none after.
bool final_sigma(const std::u32string& text, size_t i) {
  size_t before = i;
  while (before > 0 && is_case_ignorable(text[before - 1])) --before;
  if (before == 0 || !is_cased(text[before - 1])) return false;
  size_t after = i + 1;
  while (after < text.size() && is_case_ignorable(text[after])) ++after;
  return after == text.size() || !is_cased(text[after]);
}

std::u32string lower(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (c == 0x3A3) {
      out.push_back(final_sigma(text, i) ? 0x3C2 : 0x3C3);
      continue;
    }
    const tables::LowerSpecial* special = std::find_if(
        tables::kLowerSpecials, tables::kLowerSpecials + tables::kLowerSpecialsCount,
        [c](const tables::LowerSpecial& s) { return s.code == c; });
    if (special == tables::kLowerSpecials + tables::kLowerSpecialsCount) {
      out.push_back(lower_single(c));
      continue;
    }
    for (char32_t l : special->lower)
      if (l != 0) out.push_back(l);
  }
  return out;
}

// ---- NFC

constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

uint8_t combining_class(char32_t c) {
  return run_of(tables::kCombiningRuns, tables::kCombiningRunsCount, c).ccc;
}

void decompose(char32_t c, std::u32string& out) {
  if (c >= kSBase && c < kSBase + kSCount) {
    const char32_t s = c - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out.push_back(kTBase + s % kTCount);
    return;
  }
  const tables::Decomposition* end = tables::kDecompositions + tables::kDecompositionsCount;
  const tables::Decomposition* d = std::lower_bound(
      tables::kDecompositions, end, c, [](const tables::Decomposition& x, char32_t v) { return x.code < v; });
  if (d == end || d->code != c) {
    out.push_back(c);
    return;
  }
  decompose(d->first, out);
  if (d->second != 0) decompose(d->second, out);
}

// Stable sort of each run of non-starters by combining class.
void order_canonically(std::u32string& text) {
  for (size_t i = 1; i < text.size(); ++i) {
    const char32_t c = text[i];
    const uint8_t ccc = combining_class(c);
    if (ccc == 0) continue;
    size_t j = i;
    for (; j > 0 && combining_class(text[j - 1]) > ccc; --j) text[j] = text[j - 1];
    text[j] = c;
  }
}

// The primary composite of a + b, or 0.
char32_t compose_pair(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount)
    return a + (b - kTBase);
  static const std::unordered_map<uint64_t, char32_t> composites = [] {
    std::unordered_map<uint64_t, char32_t> map;
    for (size_t i = 0; i < tables::kDecompositionsCount; ++i) {
      const tables::Decomposition& d = tables::kDecompositions[i];
      if (d.composes) map[(static_cast<uint64_t>(d.first) << 21) | d.second] = d.code;
    }
    return map;
  }();
  const auto it = composites.find((static_cast<uint64_t>(a) << 21) | b);
  return it == composites.end() ? 0 : it->second;
}

std::u32string compose(const std::u32string& decomposed) {
  std::u32string out;
  out.reserve(decomposed.size());
  size_t starter = std::u32string::npos;
  uint8_t last_ccc = 0;
  for (char32_t c : decomposed) {
    const uint8_t ccc = combining_class(c);
    const bool unblocked =
        starter != std::u32string::npos && (out.size() - 1 == starter || (last_ccc != 0 && last_ccc < ccc));
    if (unblocked) {
      if (const char32_t composite = compose_pair(out[starter], c)) {
        out[starter] = composite;
        continue;
      }
    }
    if (ccc == 0) starter = out.size();
    out.push_back(c);
    last_ccc = ccc;
  }
  return out;
}

std::u32string nfc(const std::u32string& text) {
  std::u32string decomposed;
  decomposed.reserve(text.size());
  for (char32_t c : text) decompose(c, decomposed);
  order_canonically(decomposed);
  return compose(decomposed);
}

}  // namespace uprez::unicode_text
