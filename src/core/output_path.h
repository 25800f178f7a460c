// Output file naming shared by image-process and processors: dgenerate's duplicate avoidance and parent
// folder creation.
#pragma once

#include <string>

namespace uprez {

// `path` if nothing exists there, else the first free `<stem>_duplicate_<k><ext>` (k = 1, 2, ...).
std::string avoid_existing_path(const std::string& path);

// Creates the folders above `path`; throws Error naming the folder when that fails.
void create_parent_folders(const std::string& path);

}  // namespace uprez
