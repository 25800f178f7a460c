#include "diffusion/model/hf_cache.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace uprez {

namespace hf_cache {
namespace fs = std::filesystem;

const char* const kNoDownload = "; downloading models is not supported yet";

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// One part of a repo id: [A-Za-z0-9._-]{1,max_length}, starting and ending with a word character.
bool is_valid_part(const std::string& part, size_t max_length) {
  if (part.empty() || part.size() > max_length) return false;
  for (char c : part)
    if (!is_word_char(c) && c != '.' && c != '-') return false;
  return is_word_char(part.front()) && is_word_char(part.back());
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The value of an environment variable; unset and empty are the same.
std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

std::string home_dir() {
  std::string home = env("HOME");
  if (home.empty()) {
    const passwd* entry = getpwuid(getuid());
    if (entry && entry->pw_dir) home = entry->pw_dir;
  }
  return home;
}

// Python's os.path.expanduser for "~" and "~/...".
std::string expand_user(const std::string& path) {
  if (path == "~" || path.rfind("~/", 0) == 0) return home_dir() + path.substr(1);
  return path;
}

// huggingface_hub's REGEX_COMMIT_HASH: 40 lowercase hex digits.
bool is_commit_hash(const std::string& revision) {
  if (revision.size() != 40) return false;
  for (char c : revision)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

// A branch or tag name that stays inside refs/: "/"-separated parts, none empty, "." or "..".
bool is_ref_name(const std::string& revision) {
  std::stringstream parts(revision + "/");
  std::string part;
  while (std::getline(parts, part, '/'))
    if (part.empty() || part == "." || part == ".." || part.find('\0') != std::string::npos) return false;
  return true;
}

std::string trim(const std::string& text) {
  const char* space = " \t\r\n";
  const size_t first = text.find_first_not_of(space);
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(space) - first + 1);
}

// The commit a revision names: itself when it is a commit hash, else the content of refs/<revision>.
std::string resolve_commit(const std::string& repo_id, const std::string& repo_dir, const std::string& revision) {
  if (is_commit_hash(revision)) return revision;
  if (!is_ref_name(revision))
    throw Error("--revision \"" + revision + "\": not a branch, tag or commit name");
  const std::string ref_file = repo_dir + "/refs/" + revision;
  std::ifstream in(ref_file);
  if (!fs::is_regular_file(ref_file) || !in)
    throw Error(repo_id + ": revision \"" + revision + "\" not found in the Hugging Face cache (no " + ref_file + ")" +
                kNoDownload);
  std::stringstream text;
  text << in.rdbuf();
  const std::string commit = trim(text.str());
  if (commit.empty() || commit.find('/') != std::string::npos || !is_ref_name(commit))
    throw Error(ref_file + ": does not hold a commit hash");
  return commit;
}

}  // namespace hf_cache

bool is_hf_repo_id(const std::string& name) {
  const size_t slash = name.find('/');
  if (slash == std::string::npos || name.find('/', slash + 1) != std::string::npos) return false;
  if (name.find("--") != std::string::npos || name.find("..") != std::string::npos) return false;
  if (hf_cache::ends_with(name, ".git")) return false;
  return hf_cache::is_valid_part(name.substr(0, slash), std::string::npos) &&
         hf_cache::is_valid_part(name.substr(slash + 1), 96);
}

std::string hf_hub_cache_dir() {
  for (const char* name : {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"}) {
    const std::string cache = hf_cache::env(name);
    if (!cache.empty()) return cache;
  }
  const std::string hf_home = hf_cache::env("HF_HOME");
  if (!hf_home.empty()) return hf_cache::expand_user(hf_home) + "/hub";
  const std::string xdg = hf_cache::env("XDG_CACHE_HOME");
  return (xdg.empty() ? hf_cache::home_dir() + "/.cache" : xdg) + "/huggingface/hub";
}

std::string hf_cached_snapshot(const std::string& repo_id, const std::string& revision) {
  if (!is_hf_repo_id(repo_id)) throw Error(repo_id + ": not a Hugging Face repo id (org/name)");
  const std::string cache = hf_hub_cache_dir();
  const size_t slash = repo_id.find('/');
  const std::string repo_dir = cache + "/models--" + repo_id.substr(0, slash) + "--" + repo_id.substr(slash + 1);
  if (!hf_cache::fs::is_directory(repo_dir))
    throw Error(repo_id + ": not found in the Hugging Face cache (looked in " + cache + ")" + hf_cache::kNoDownload);
  const std::string rev = revision.empty() ? "main" : revision;
  const std::string commit = hf_cache::resolve_commit(repo_id, repo_dir, rev);
  const std::string snapshot = repo_dir + "/snapshots/" + commit;
  if (!hf_cache::fs::is_directory(snapshot))
    throw Error(repo_id + ": revision \"" + rev + "\" (commit " + commit +
                ") not found in the Hugging Face cache (no " + snapshot + ")" + hf_cache::kNoDownload);
  return snapshot;
}

}  // namespace uprez
