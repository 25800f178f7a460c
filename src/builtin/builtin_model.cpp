#include "builtin/builtin_model.h"

#include <cstdint>

#include "io/safetensors.h"

// The model file's bytes, placed in the program's read-only data by the assembler (UPREZ_BUILTIN_MODEL_FILE is
// its absolute path, set by CMake, which also rebuilds this file when the model changes).
asm(".section .rodata\n"
    ".balign 64\n"
    ".global uprez_builtin_model_begin\n"
    ".hidden uprez_builtin_model_begin\n"
    ".global uprez_builtin_model_end\n"
    ".hidden uprez_builtin_model_end\n"
    "uprez_builtin_model_begin:\n"
    ".incbin \"" UPREZ_BUILTIN_MODEL_FILE "\"\n"
    "uprez_builtin_model_end:\n"
    ".previous\n");
extern "C" const uint8_t uprez_builtin_model_begin[];
extern "C" const uint8_t uprez_builtin_model_end[];

namespace uprez {

StateDict builtin_model_state() {
  const ByteView bytes{uprez_builtin_model_begin,
                       static_cast<size_t>(uprez_builtin_model_end - uprez_builtin_model_begin)};
  return read_safetensors(bytes, std::string("the built-in model ") + kBuiltinModelName);
}

Model load_builtin_model() { return load_model(builtin_model_state(), kBuiltinModelName); }

}  // namespace uprez
