// ncnn's ConvolutionDepthWise: a grouped convolution (param 7 group; depthwise when group equals the channel
// count), otherwise exactly Convolution (see convolution.cpp).
#include "ncnn/layers/convolution.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

std::unique_ptr<Layer> make_convolution_depthwise_layer() { return make_convolution_layer(/*grouped=*/true); }

}  // namespace uprez::ncnn
