// ClipTokenizer against transformers' slow CLIPTokenizer: the recorded tokenizations of the real CLIP vocabulary,
// the ids the tiny model folders' tokenizers gave the pipeline fixtures, Python's Unicode behaviour, error paths.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "diffusion/text/clip_tokenizer.h"
#include "diffusion/text/unicode_text.h"
#include "io/npy.h"
#include "support/error_message.h"
#include "support/fixtures.h"

namespace uprez::clip_tokenizer_test {

std::string clip_vocab_dir() { return test::fixtures_root() + "/diffusion/tokenizer/clip_bpe_49408"; }

nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(std::ifstream(path)); }

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// The real vocabulary with CLIPTokenizer's default tokens and `pad`.
ClipTokenizer clip_tokenizer(const ClipAddedToken& pad) {
  ClipSpecialTokens special;
  special.pad = pad;
  return ClipTokenizer::from_files(clip_vocab_dir() + "/vocab.json", clip_vocab_dir() + "/merges.txt", special);
}

std::vector<std::string> inner(const std::vector<std::string>& v) { return {v.begin() + 1, v.end() - 1}; }
std::vector<int64_t> inner(const std::vector<int64_t>& v) { return {v.begin() + 1, v.end() - 1}; }

TEST(ClipTokenizer, ReproducesTheRecordedTokenizationsOfTheClipVocabulary) {
  UPREZ_REQUIRE_PATH(clip_vocab_dir() + "/cases.json");
  const nlohmann::json cases = read_json(clip_vocab_dir() + "/cases.json");
  std::map<std::string, ClipTokenizer> by_pad;
  for (const nlohmann::json& c : cases["cases"]) {
    const std::string prompt = c["prompt"].get<std::string>(), pad = c["pad_token"].get<std::string>();
    if (by_pad.count(pad) == 0) by_pad.emplace(pad, clip_tokenizer(ClipAddedToken{pad}));
    const ClipTokenizer& tokenizer = by_pad.at(pad);
    SCOPED_TRACE("prompt \"" + prompt + "\", pad \"" + pad + "\"");
    EXPECT_EQ(tokenizer.tokenize(prompt), inner(c["tokens"].get<std::vector<std::string>>()));
    EXPECT_EQ(tokenizer.encode(prompt), inner(c["input_ids_untruncated"].get<std::vector<int64_t>>()));
    EXPECT_EQ(tokenizer.input_ids(prompt), c["input_ids_max_length_77"].get<std::vector<int64_t>>());
    EXPECT_EQ(tokenizer.pad_id(), c["pad_token_id"].get<int64_t>());
    EXPECT_EQ(tokenizer.bos_id(), cases["bos_token_id"].get<int64_t>());
    EXPECT_EQ(tokenizer.eos_id(), cases["eos_token_id"].get<int64_t>());
  }
  EXPECT_GE(cases["cases"].size(), 28u);
  EXPECT_EQ(by_pad.size(), 2u);  // "<|endoftext|>" (CLIP-L, x2) and "!" (SD 2, x4)
}

TEST(ClipTokenizer, LoadsTheFullVocabularyWellUnderASecond) {
  UPREZ_REQUIRE_PATH(clip_vocab_dir() + "/vocab.json");
  const auto start = std::chrono::steady_clock::now();
  const ClipTokenizer tokenizer = clip_tokenizer(ClipAddedToken{"!"});
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "[ INFO     ] 49,408 tokens and 48,894 merges loaded in " << seconds << " s\n";
  EXPECT_LT(seconds, 1.0);
  EXPECT_EQ(tokenizer.model_max_length(), 77);
}

// Each pipeline case's prompt and negative prompt (null: "") give the ids its pipeline fed the text encoder (the x2
// pipeline tokenizes "" for the prompt at guidance_scale 0).
void expect_recorded_ids(const ClipTokenizer& tokenizer, const nlohmann::json& prompts, const std::string& npy) {
  const torch::Tensor recorded = read_npy(npy);
  ASSERT_EQ(recorded.dim(), 2) << npy;
  for (int64_t row = 0; row < recorded.size(0); ++row) {
    const nlohmann::json& p = prompts.is_array() ? prompts[row] : prompts;
    const std::string prompt = p.is_null() ? "" : p.get<std::string>();
    const torch::Tensor ids = recorded[row].contiguous();
    const std::vector<int64_t> expected(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
    EXPECT_EQ(tokenizer.input_ids(prompt), expected) << npy << " row " << row << ": \"" << prompt << "\"";
  }
}

TEST(ClipTokenizer, ModelFolderTokenizersGiveThePipelineFixturesIds) {
  const std::string root = test::fixtures_root() + "/diffusion";
  UPREZ_REQUIRE_PATH(root + "/cases");
  std::map<std::string, ClipTokenizer> by_folder;
  int checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(root + "/cases")) {
    const std::string dir = entry.path().string();
    const nlohmann::json meta = read_json(dir + "/meta.json");
    const std::string folder = root + "/" + meta["model_dir"].get<std::string>() + "/tokenizer";
    if (by_folder.count(folder) == 0) by_folder.emplace(folder, ClipTokenizer::load(folder));
    const bool empty_prompt = meta["pipeline"] == "StableDiffusionLatentUpscalePipeline" && meta["guidance_scale"] == 0.0;
    expect_recorded_ids(by_folder.at(folder), empty_prompt ? nlohmann::json("") : meta["prompt"],
                        dir + "/text_cond_input_ids.npy");
    if (test::path_exists(dir + "/text_uncond_input_ids.npy"))
      expect_recorded_ids(by_folder.at(folder), meta["negative_prompt"], dir + "/text_uncond_input_ids.npy");
    ++checked;
  }
  EXPECT_GE(checked, 12);
}

TEST(ClipTokenizer, ReadsTheSpecialTokensOfAModelFolder) {
  const std::string models = test::fixtures_root() + "/diffusion/models";
  UPREZ_REQUIRE_PATH(models + "/x4_tiny/tokenizer");
  const ClipTokenizer x4 = ClipTokenizer::load(models + "/x4_tiny/tokenizer");
  EXPECT_EQ(x4.bos_id(), 998);
  EXPECT_EQ(x4.eos_id(), 999);
  EXPECT_EQ(x4.pad_id(), 0);  // "!", an added token: "burger!" ends in it
  EXPECT_EQ(x4.model_max_length(), 77);
  EXPECT_EQ(x4.tokenize("burger!").back(), "!");
  const ClipTokenizer x2 = ClipTokenizer::load(models + "/x2_tiny/tokenizer");
  EXPECT_EQ(x2.pad_id(), 999);
  EXPECT_EQ(x2.input_ids("").back(), 999);
}

TEST(ClipTokenizer, TreatsUnicodeAsPython) {
  // unicodedata / str results of Python 3.11
  EXPECT_EQ(unicode_text::lower(U"\u039F\u0394\u03A5\u03A3\u03A3\u0395\u03A5\u03A3 \u03A3."),
            U"\u03BF\u03B4\u03C5\u03C3\u03C3\u03B5\u03C5\u03C2 \u03C3.");  // final sigma
  EXPECT_EQ(unicode_text::lower(U"\u0130K\u212A"), U"i\u0307kk");
  EXPECT_EQ(unicode_text::nfc(U"e\u0301 A\u030A \u212B \u1100\u1161\u11A8 x\u0301\u0316"),
            U"\u00E9 \u00C5 \u00C5 \uAC01 x\u0316\u0301");
  UPREZ_REQUIRE_PATH(clip_vocab_dir() + "/vocab.json");
  const ClipTokenizer tokenizer = clip_tokenizer(ClipAddedToken{"<|endoftext|>"});
  // token ids from transformers' code path (no ftfy) on Python 3.11 with regex 2026.5
  EXPECT_EQ(tokenizer.encode("cafe\u0301 CAF\u00C9"), (std::vector<int64_t>{15304, 15304}));
  EXPECT_EQ(tokenizer.encode("a\u200Bb\x07" "c\u3000d\u2028" "e"), (std::vector<int64_t>{5334, 323, 324}));
  EXPECT_EQ(tokenizer.encode("it'\u017F a\u0345" "b"), (std::vector<int64_t>{585, 6, 129, 379, 320, 321}));
  EXPECT_EQ(tokenizer.encode("<|ENDOFTEXT|>x"), (std::vector<int64_t>{49407, 343}));
  EXPECT_EQ(tokenizer.encode("\u039F\u0394\u03A5\u03A3\u03A3\u0395\u03A5\u03A3 \u0130stanbul"),
            (std::vector<int64_t>{138, 123, 138, 112, 139, 227, 139, 225, 139, 225, 138, 113, 139, 227, 139, 480, 328,
                                  16384, 11231}));
  EXPECT_EQ(tokenizer.encode("\uD55C\uAD6D\uC5B4 \u6771\u4EAC\u30BF\u30EF\u30FC"),
            (std::vector<int64_t>{15197, 250, 31871, 255, 31625, 368, 27667, 365, 21078, 361, 34941, 2429, 107,
                                  30391}));
}

TEST(ClipTokenizer, HonoursAnAddedTokensSingleWordFlag) {
  UPREZ_REQUIRE_PATH(clip_vocab_dir() + "/vocab.json");
  ClipAddedToken pad{"!"};
  pad.single_word = true;
  const ClipTokenizer tokenizer = clip_tokenizer(pad);
  // Inside a word the token is glued back and tokenized as text ("!</w>"); standing alone it is the token "!".
  EXPECT_EQ(tokenizer.tokenize("a!b"), (std::vector<std::string>{"a</w>", "!</w>", "b</w>"}));
  EXPECT_EQ(tokenizer.tokenize("a !b"), (std::vector<std::string>{"a</w>", "!</w>", "b</w>"}));
  EXPECT_EQ(tokenizer.tokenize("a ! b"), (std::vector<std::string>{"a</w>", "!", "b</w>"}));
}

// A folder with a four-token vocabulary and one merge.
std::string tiny_folder(const std::string& vocab, const std::string& merges) {
  const std::string dir = test::temp_dir();
  write_file(dir + "/vocab.json", vocab);
  write_file(dir + "/merges.txt", merges);
  return dir;
}

const char* const kTinyVocab = R"({"<|startoftext|>": 0, "<|endoftext|>": 1, "a": 2, "b</w>": 3, "ab</w>": 4})";

TEST(ClipTokenizer, MergesByRankAndMapsUnknownTokensToUnk) {
  const ClipTokenizer tokenizer = ClipTokenizer::load(tiny_folder(kTinyVocab, "#version: 0.2\na b</w>\n"));
  EXPECT_EQ(tokenizer.tokenize("ab ba"), (std::vector<std::string>{"ab</w>", "b", "a</w>"}));
  EXPECT_EQ(tokenizer.encode("ab ba"), (std::vector<int64_t>{4, 1, 1}));
  EXPECT_EQ(tokenizer.input_ids("ab").size(), 77u);
}

TEST(ClipTokenizer, ErrorsNameTheFile) {
  const auto message = [](const std::string& dir) {
    return test::error_message_of([&] { ClipTokenizer::load(dir); });
  };
  const std::string no_vocab = test::temp_dir();
  write_file(no_vocab + "/merges.txt", "#version: 0.2\n");
  EXPECT_EQ(message(no_vocab), no_vocab + "/vocab.json: cannot be opened");

  const std::string bad_merges = tiny_folder(kTinyVocab, "#version: 0.2\na b</w>\na b c\n");
  EXPECT_EQ(message(bad_merges), bad_merges + "/merges.txt: line 3 is not a merge \"first second\": \"a b c\"");

  const std::string no_bos = tiny_folder(R"({"<|endoftext|>": 1, "a": 2})", "#version: 0.2\n");
  EXPECT_EQ(message(no_bos), no_bos + "/vocab.json: has no special token \"<|startoftext|>\" in its vocabulary");

  const std::string bad_config = tiny_folder(kTinyVocab, "#version: 0.2\n");
  write_file(bad_config + "/tokenizer_config.json", R"({"model_max_length": 1e30})");
  EXPECT_EQ(message(bad_config),
            bad_config + "/tokenizer_config.json: \"model_max_length\" 1e+30 is not a token count from 2 to 1000000");

  const ClipTokenizer tokenizer = ClipTokenizer::load(tiny_folder(kTinyVocab, "#version: 0.2\n"));
  EXPECT_EQ(test::error_message_of([&] { tokenizer.encode("a\xC3"); }), "text: is not valid UTF-8 at byte 1");
}

}  // namespace uprez::clip_tokenizer_test
