#!/usr/bin/env python3
"""Writes src/diffusion/text/unicode_tables.cpp: the Unicode data the CLIP tokenizer needs to do what Python does
(unicodedata categories, the classes of CLIP's pattern in the regex module, str.isspace, str.lower with its
Final_Sigma rule, unicodedata.normalize("NFC")), taken from the running Python and its regex module. The layout is
declared in src/diffusion/text/unicode_tables.h.

Usage: python3 tools/make_unicode_tables.py [output.cpp]   (default: the file in the source tree)
"""
import os
import sys
import unicodedata

import regex  # the module CLIPTokenizer matches its pattern with

MAX_CP = 0x110000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "src", "diffusion", "text", "unicode_tables.cpp")

# PatternClass and CleanClass in unicode_tables.h
PATTERN_NONE, PATTERN_LETTER, PATTERN_NUMBER, PATTERN_SYMBOL = range(4)
CLEAN_KEEP, CLEAN_SPACE, CLEAN_CONTROL = 0, 4, 8

# CLIP's pattern classes, matched as CLIPTokenizer matches them (the regex module, IGNORECASE): U+0345, whose case
# equivalent is a letter, is in none of them, for instance.
LETTER_RE = regex.compile(r"[\p{L}]", regex.IGNORECASE)
NUMBER_RE = regex.compile(r"[\p{N}]", regex.IGNORECASE)
SYMBOL_RE = regex.compile(r"[^\s\p{L}\p{N}]", regex.IGNORECASE)


def pattern_class(c):
    if LETTER_RE.match(c):
        return PATTERN_LETTER
    if NUMBER_RE.match(c):
        return PATTERN_NUMBER
    return PATTERN_SYMBOL if SYMBOL_RE.match(c) else PATTERN_NONE


def clean_class(c):
    """BasicTokenizer._clean_text's view: unicodedata category C* is dropped, Zs becomes a space."""
    cat = unicodedata.category(c)
    if cat[0] == "C":
        return CLEAN_CONTROL
    return CLEAN_SPACE if cat == "Zs" else CLEAN_KEEP


def char_classes(cp):
    c = chr(cp)
    return pattern_class(c) | clean_class(c)


def runs(value_of):
    """(start, value) wherever the value changes, starting at code point 0."""
    out, prev = [], None
    for cp in range(MAX_CP):
        v = value_of(cp)
        if v != prev:
            out.append((cp, v))
            prev = v
    return out


def ranges(pred):
    """Inclusive (first, last) ranges of the code points where pred holds."""
    out = []
    for cp in range(MAX_CP):
        if pred(cp):
            if out and out[-1][1] == cp - 1:
                out[-1][1] = cp
            else:
                out.append([cp, cp])
    return out


def lower_runs():
    """Single-code-point lower-case mappings as runs (start, count, delta, stride); multi-code-point ones apart."""
    singles, multi = [], []
    for cp in range(MAX_CP):
        if cp == 0x3A3:
            continue  # capital sigma: the Final_Sigma rule, in code
        low = chr(cp).lower()
        if low == chr(cp):
            continue
        if len(low) == 1:
            singles.append((cp, ord(low) - cp))
        else:
            multi.append((cp, [ord(x) for x in low]))
    out = []
    for cp, delta in singles:
        if out:
            start, count, d, stride = out[-1]
            if d == delta and count == 1 and cp - start in (1, 2):
                out[-1] = [start, 2, d, cp - start]
                continue
            if d == delta and count > 1 and cp == start + count * stride:
                out[-1][1] += 1
                continue
        out.append([cp, 1, delta, 1])
    return out, multi


def sigma_context():
    """Python's Final_Sigma rule reads Case_Ignorable and Cased; unicodedata has neither, so ask str.lower():
    final(x + "Σ") holds when x is cased and not case-ignorable, final("A" + x + "Σ") when x is either."""
    def final(s):
        return s.lower()[-1] == "\u03c2"
    ignorable, cased = set(), set()
    for cp in range(MAX_CP):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        alone, after_cased = final(c + "\u03a3"), final("A" + c + "\u03a3")
        if alone:
            cased.add(cp)
        elif after_cased:
            ignorable.add(cp)
    return ranges(lambda cp: cp in ignorable), ranges(lambda cp: cp in cased)


def decompositions():
    """Canonical decompositions (cp, first, second or 0, composes): composes marks the primary composites that
    NFC builds back (a pair decomposition that NFC keeps)."""
    out = []
    for cp in range(MAX_CP):
        d = unicodedata.decomposition(chr(cp))
        if not d or d.startswith("<"):
            continue
        parts = [int(x, 16) for x in d.split()]
        second = parts[1] if len(parts) == 2 else 0
        composes = len(parts) == 2 and unicodedata.normalize("NFC", chr(cp)) == chr(cp)
        out.append((cp, parts[0], second, composes))
    return out


def rows(items, fmt, width=116):
    """The items, formatted, packed into lines of at most `width` characters."""
    lines, line = [], "   "
    for item in items:
        text = " " + fmt(item) + ","
        if len(line) + len(text) > width:
            lines.append(line)
            line = "   "
        line += text
    return "\n".join(lines + [line])


def array(ctype, name, items, fmt):
    return (f"const {ctype} {name}[] = {{\n{rows(items, fmt)}\n}};\n"
            f"const size_t {name}Count = sizeof({name}) / sizeof({name}[0]);\n")


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    lower, multi = lower_runs()
    assert len(multi) <= 4 and all(len(m[1]) <= 3 for m in multi)
    ignorable, cased = sigma_context()
    spaces = ranges(lambda cp: chr(cp).isspace())
    hx = lambda v: f"0x{v:X}"
    parts = [
        "// Generated by tools/make_unicode_tables.py from Python " + sys.version.split()[0] + "'s unicodedata",
        "// (Unicode " + unicodedata.unidata_version + ") and the regex module " + regex.__version__
        + "; do not edit. The layout is in unicode_tables.h.",
        '#include "diffusion/text/unicode_tables.h"',
        "",
        "namespace uprez::unicode_tables {",
        "",
        array("ClassRun", "kClassRuns", runs(char_classes),
              lambda r: f"{{{hx(r[0])}, {r[1]}}}"),
        array("CodeRange", "kPythonSpaces", spaces, lambda r: f"{{{hx(r[0])}, {hx(r[1])}}}"),
        array("LowerRun", "kLowerRuns", lower, lambda r: f"{{{hx(r[0])}, {r[1]}, {r[2]}, {r[3]}}}"),
        array("LowerSpecial", "kLowerSpecials", multi,
              lambda m: "{" + hx(m[0]) + ", {" + ", ".join(hx(x) for x in m[1]) + "}}"),
        array("CodeRange", "kCaseIgnorable", ignorable, lambda r: f"{{{hx(r[0])}, {hx(r[1])}}}"),
        array("CodeRange", "kCased", cased, lambda r: f"{{{hx(r[0])}, {hx(r[1])}}}"),
        array("CombiningRun", "kCombiningRuns", runs(lambda cp: unicodedata.combining(chr(cp))),
              lambda r: f"{{{hx(r[0])}, {r[1]}}}"),
        array("Decomposition", "kDecompositions", decompositions(),
              lambda d: f"{{{hx(d[0])}, {hx(d[1])}, {hx(d[2])}, {str(d[3]).lower()}}}"),
        "}  // namespace uprez::unicode_tables",
        "",
    ]
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("\n".join(parts))


if __name__ == "__main__":
    main()
