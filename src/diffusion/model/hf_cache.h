// Finds a Hugging Face repo id ("org/name") in the standard hub cache, laid out as huggingface_hub 0.25 lays it
// out: <cache>/models--org--name/refs/<branch or tag> holds a commit, snapshots/<commit>/ holds the files.
#pragma once
#include <string>

namespace uprez {

// True when `name` has the form of a Hub model repo id: "org/name", each part of [A-Za-z0-9._-], starting and
// ending with a letter, digit or '_', without "--" or "..", not ending in ".git", the name at most 96 characters
// (huggingface_hub's validate_repo_id, with the organisation required).
bool is_hf_repo_id(const std::string& name);

// The hub cache folder, as huggingface_hub's constants decide it: $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE,
// else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub ("~" expanded in
// HF_HOME; empty variables count as unset).
std::string hf_hub_cache_dir();

// The snapshot folder of `repo_id` at `revision` ("" = "main"): a 40-hex commit is used directly, any other
// revision is a branch or tag whose refs/<revision> file holds the commit. Throws Error naming the repo and where
// it looked when the repo, the revision or the snapshot is not cached (downloading is not supported yet), and
// when `revision` is not a name a ref can have.
std::string hf_cached_snapshot(const std::string& repo_id, const std::string& revision);

}  // namespace uprez
