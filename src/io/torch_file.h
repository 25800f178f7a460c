// Reads checkpoints written by torch.save into their unpickled top-level object, with tensors on the CPU in
// their stored dtype: the zip format of PyTorch >= 1.6 (any archive folder name) and the legacy format before
// it. TorchScript archives (torch.jit.save) are recognized and refused, since they hold code.
#pragma once

#include "io/byte_reader.h"
#include "io/mapped_file.h"
#include "io/pickle.h"
#include "io/zip_archive.h"

namespace uprez {

// True when `file_start` begins with the magic-number pickle of a legacy torch.save file.
bool has_legacy_torch_magic(ByteView file_start);

// True when the archive is TorchScript: it has <folder>/constants.pkl or files under <folder>/code/.
bool is_torchscript_archive(const ZipArchive& archive);

// True when the archive holds a torch.save checkpoint: it has <folder>/data.pkl and is not TorchScript.
bool is_torch_checkpoint_archive(const ZipArchive& archive);

// Unpickles <folder>/data.pkl, whose storages are the entries <folder>/data/<key>. Throws Error naming the
// file for TorchScript archives and other zip files (listing their first entries) and for anything malformed.
pickle::Document read_torch_zip_checkpoint(const ZipArchive& archive);

// Reads a legacy (pre-1.6) torch.save file: magic number, protocol version and system info pickles, the
// checkpoint pickle, the list of storage keys, then each storage's element count and raw bytes.
pickle::Document read_torch_legacy_checkpoint(const MappedFile& file);

}  // namespace uprez
