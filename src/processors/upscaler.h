// The `upscaler` processor: a PyTorch super-resolution model file (.pth/.pt/.ckpt/.safetensors), architecture
// detected from its weights, run tiled on any device and dtype it supports.
#pragma once

#include "processors/processor.h"

namespace uprez {

ProcessorSpec upscaler_processor_spec();

}  // namespace uprez
