// ncnn's Convolution and ConvolutionDepthWise differ only in the group count (param 7, which Convolution does not
// read), so both are one implementation (convolution.cpp).
#pragma once

#include <memory>

#include "ncnn/layer.h"

namespace uprez::ncnn {

// A Convolution layer that reads the group count (param 7) when `grouped`, as ConvolutionDepthWise does.
std::unique_ptr<Layer> make_convolution_layer(bool grouped);

}  // namespace uprez::ncnn
