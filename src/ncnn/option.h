// The options a network runs with, as ncnn's Option: set when the network is loaded and handed to every layer
// (Layer::create_pipeline), never a process-wide switch.
#pragma once

#include "nn/conv_options.h"

namespace uprez::ncnn {

struct Option {
  // use_winograd_convolution / use_sgemm_convolution; by default what UPREZ_FAST_CONV asked for.
  ConvOptions conv = ConvOptions::defaults();
};

}  // namespace uprez::ncnn
