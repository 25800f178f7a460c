// The `upscaler-ncnn` processor: an NCNN model (.param + .bin, as upscayl, chaiNNer and Real-ESRGAN-ncnn-vulkan
// use) run by uprez's own NCNN runtime on LibTorch, with dgenerate's arguments and the `upscaler` tiler.
#pragma once

#include "processors/processor.h"

namespace uprez {

ProcessorSpec upscaler_ncnn_processor_spec();

}  // namespace uprez
