// Which convolution algorithms FastConv2d may use: ConvOptions, passed down each call as ncnn passes its Option,
// and the process-wide on/off of the oneDNN path (UPREZ_FAST_CONV at start-up; tests and benchmarks).
#pragma once

namespace uprez {

// ncnn's use_winograd_convolution / use_sgemm_convolution. defaults() is what UPREZ_FAST_CONV asked for at
// start-up: unset: Winograd on; "direct": no Winograd; "sgemm": no Winograd, im2col + GEMM for every ungrouped
// convolution.
struct ConvOptions {
  // oneDNN's Winograd for 3x3 stride-1 convolutions of more than 16 input channels and at least 16x16 pixels.
  bool winograd = true;
  // im2col + GEMM (oneDNN's JIT sgemm over column matrices of about 16 MiB) for the ungrouped convolutions that do
  // not run as Winograd, instead of oneDNN's direct convolution (off by default: oneDNN's direct kernels are
  // faster here, see bench/ncnn_compare.sh).
  bool sgemm = false;

  static const ConvOptions& defaults();
};

// The oneDNN path as a whole (off: LibTorch's conv2d everywhere and no blocked maps). UPREZ_FAST_CONV=0 (or off,
// false) turns it off at start-up; the setter is for tests and benchmarks that compare against LibTorch.
void set_fast_conv_enabled(bool enabled);
bool fast_conv_enabled();

}  // namespace uprez
