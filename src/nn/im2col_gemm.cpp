#include "nn/im2col_gemm.h"

#include <algorithm>

#include <oneapi/dnnl/dnnl.h>

#include "nn/onednn.h"

namespace uprez {

namespace im2col_gemm {

namespace F = torch::nn::functional;

// The column matrices stay near this size (output rows are done in bands).
constexpr int64_t kGemmColumnBytes = int64_t{16} << 20;

}  // namespace im2col_gemm

torch::Tensor im2col_gemm_conv2d(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                                 const ConvGeometry& g) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == g.in_channels, "FastConv2d: input of shape ", x.sizes(), " has ",
              x.dim() == 4 ? x.size(1) : 0, " channels, expected ", g.in_channels);
  const torch::Tensor padded =
      im2col_gemm::F::pad(x.contiguous(), im2col_gemm::F::PadFuncOptions({g.padding[2], g.padding[3], g.padding[0], g.padding[1]}));
  const int64_t n = padded.size(0), out_channels = g.out_channels;
  const int64_t out_height = g.out_height(x.size(2)), out_width = g.out_width(x.size(3));
  TORCH_CHECK(out_height > 0 && out_width > 0, "FastConv2d: the input is smaller than the kernel");
  const torch::Tensor matrix = weight.reshape({out_channels, -1}).contiguous();
  const int64_t depth = matrix.size(1);  // channels * kernel area
  torch::Tensor output = torch::empty({n, out_channels, out_height, out_width}, x.options());
  if (bias.defined())
    output.copy_(bias.view({1, out_channels, 1, 1}).expand_as(output));
  else
    output.zero_();
  const int64_t row_bytes = depth * out_width * static_cast<int64_t>(sizeof(float));
  const int64_t band = std::max<int64_t>(1, im2col_gemm::kGemmColumnBytes / row_bytes);
  const int64_t plane = out_height * out_width;
  onednn::prepare_threads();
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t row = 0; row < out_height; row += band) {
      const int64_t rows = std::min(band, out_height - row);
      const int64_t input_rows = (rows - 1) * g.stride[0] + g.dilation[0] * (g.kernel[0] - 1) + 1;
      const torch::Tensor slice = padded.narrow(0, b, 1).narrow(2, row * g.stride[0], input_rows);
      const torch::Tensor columns = at::im2col(slice, {g.kernel[0], g.kernel[1]}, {g.dilation[0], g.dilation[1]},
                                               {0, 0}, {g.stride[0], g.stride[1]})[0]
                                        .contiguous();
      // output[b][:, row:row + rows, :] += matrix x columns, with oneDNN's sgemm (row-major; each output channel's
      // band of rows is contiguous, channels a plane apart).
      float* destination = output.data_ptr<float>() + b * out_channels * plane + row * out_width;
      const dnnl_status_t status =
          dnnl_sgemm('N', 'N', out_channels, rows * out_width, depth, 1.f, matrix.data_ptr<float>(), depth,
                     columns.data_ptr<float>(), rows * out_width, 1.f, destination, plane);
      TORCH_CHECK(status == dnnl_success, "FastConv2d: oneDNN sgemm failed (status ", static_cast<int>(status), ")");
    }
  }
  return output;
}

}  // namespace uprez
