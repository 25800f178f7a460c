// The Unicode data behind unicode_text.h, generated from Python's unicodedata and regex module by
// tools/make_unicode_tables.py (the data is in unicode_tables.cpp): sorted tables, searched by binary search.
#pragma once
#include <cstddef>
#include <cstdint>

namespace uprez::unicode_tables {

// Which of the classes of CLIP's pattern [\p{L}]+, [\p{N}], [^\s\p{L}\p{N}]+ (IGNORECASE, as the regex module
// matches them) takes a code point, in that order; none for white space and a few oddities (U+0345).
enum PatternClass : uint8_t { kPatternNone = 0, kPatternLetter = 1, kPatternNumber = 2, kPatternSymbol = 3 };
// What BasicTokenizer._clean_text makes of it: unicodedata category C* (Cc, Cf, Cs, Co, unassigned Cn) is dropped,
// Zs becomes a space.
enum CleanClass : uint8_t { kCleanKeep = 0, kCleanSpace = 4, kCleanControl = 8 };

// Code points from `start` up to the next run's start have `classes`: a PatternClass | a CleanClass.
struct ClassRun {
  char32_t start;
  uint8_t classes;
};
// Inclusive range.
struct CodeRange {
  char32_t first, last;
};
// str.lower() of start, start + stride, ... (count code points) is the code point plus delta.
struct LowerRun {
  char32_t start;
  uint16_t count;
  int32_t delta;
  uint8_t stride;
};
// A code point whose str.lower() is several code points (unused entries are 0).
struct LowerSpecial {
  char32_t code;
  char32_t lower[3];
};
// Code points from `start` up to the next run's start have canonical combining class `ccc`.
struct CombiningRun {
  char32_t start;
  uint8_t ccc;
};
// A canonical decomposition into first (+ second, 0 for a singleton); `composes` when NFC builds it back.
struct Decomposition {
  char32_t code, first, second;
  bool composes;
};

extern const ClassRun kClassRuns[];
extern const size_t kClassRunsCount;
extern const CodeRange kPythonSpaces[];  // str.isspace()
extern const size_t kPythonSpacesCount;
extern const LowerRun kLowerRuns[];  // all but U+03A3 (capital sigma: the Final_Sigma rule)
extern const size_t kLowerRunsCount;
extern const LowerSpecial kLowerSpecials[];
extern const size_t kLowerSpecialsCount;
extern const CodeRange kCaseIgnorable[];  // Case_Ignorable, as str.lower() reads it
extern const size_t kCaseIgnorableCount;
extern const CodeRange kCased[];  // Cased, of the code points that are not Case_Ignorable
extern const size_t kCasedCount;
extern const CombiningRun kCombiningRuns[];
extern const size_t kCombiningRunsCount;
extern const Decomposition kDecompositions[];  // sorted by code
extern const size_t kDecompositionsCount;

}  // namespace uprez::unicode_tables
