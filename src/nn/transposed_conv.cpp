#include "nn/transposed_conv.h"

#include "nn/any_dtype.h"

namespace uprez {

torch::Tensor TransposedConv2dImpl::forward(const torch::Tensor& x) {
  if (!reduced_precision_on_cpu(x)) return ConvTranspose2dImpl::forward(x);
  const torch::Tensor float_bias = bias.defined() ? bias.to(torch::kFloat) : torch::Tensor();
  return torch::conv_transpose2d(x.to(torch::kFloat), weight.to(torch::kFloat), float_bias, *options.stride(),
                                 *c10::get<torch::ExpandingArray<2>>(options.padding()), *options.output_padding(),
                                 options.groups(), *options.dilation())
      .to(x.scalar_type());
}

TransposedConv2d transposed_conv(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride,
                                 int64_t padding) {
  return TransposedConv2d(
      torch::nn::ConvTranspose2dOptions(in_channels, out_channels, kernel_size).stride(stride).padding(padding));
}

}  // namespace uprez
