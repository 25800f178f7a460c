#include "nn/post_ops.h"

#include "nn/onednn.h"

namespace uprez {


PostOps& PostOps::scale(double factor) {
  ops_.push_back({Kind::Scale, factor, {}, {}});
  return *this;
}
PostOps& PostOps::relu() {
  ops_.push_back({Kind::Relu, 0, {}, {}});
  return *this;
}
PostOps& PostOps::leaky_relu(double negative_slope) {
  ops_.push_back({Kind::LeakyRelu, negative_slope, {}, {}});
  return *this;
}
PostOps& PostOps::prelu(const torch::Tensor& weight) {
  ops_.push_back({Kind::PRelu, 0, weight, {}});
  return *this;
}
PostOps& PostOps::add(const torch::Tensor& residual, double alpha) {
  ops_.push_back({Kind::Add, alpha, {}, FeatureMap::dense(residual)});
  return *this;
}
PostOps& PostOps::add(const FeatureMap& residual, double alpha) {
  ops_.push_back({Kind::Add, alpha, {}, residual});
  return *this;
}

PostOps& PostOps::append(const PostOps& more) {
  ops_.insert(ops_.end(), more.ops_.begin(), more.ops_.end());
  return *this;
}

torch::Tensor PostOps::apply(torch::Tensor y) const {
  for (const Op& op : ops_) {
    switch (op.kind) {
      case Kind::Scale: y = y * op.value; break;
      case Kind::Relu: y = torch::relu(y); break;
      case Kind::LeakyRelu: y = torch::leaky_relu(y, op.value); break;
      case Kind::PRelu: y = torch::prelu(y, op.weight); break;
      case Kind::Add: y = y.add(op.residual.to_tensor(), op.value); break;
    }
  }
  return y;
}

bool append_activation(PostOps& post, const torch::nn::Module& activation) {
  if (activation.as<torch::nn::ReLUImpl>() != nullptr) {
    post.relu();
    return true;
  }
  if (const auto* leaky = activation.as<torch::nn::LeakyReLUImpl>()) {
    post.leaky_relu(leaky->options.negative_slope());
    return true;
  }
  if (const auto* prelu = activation.as<torch::nn::PReLUImpl>()) {
    post.prelu(prelu->weight);
    return true;
  }
  return false;
}

void prelu_in_place(const torch::Tensor& data, int64_t channels, const torch::Tensor& weight) {
  const int64_t n = data.size(0), h = data.size(2), w = data.size(3);
  const dnnl::memory::desc data_desc = onednn::blocked_desc(n, channels, h, w);
  torch::Tensor slopes = weight.detach().to(torch::kFloat).contiguous().view(-1);
  TORCH_CHECK(slopes.numel() == 1 || slopes.numel() == channels, "PReLU has ", slopes.numel(), " slopes for ",
              channels, " channels");
  if (slopes.numel() == 1) slopes = slopes.expand({channels}).contiguous();
  const dnnl::memory::desc user_slopes_desc({1, channels, 1, 1}, onednn::Dt::f32, onednn::Tag::abcd);
  const dnnl::prelu_forward::primitive_desc pd(
      dnnl::prelu_forward::desc(dnnl::prop_kind::forward_inference, data_desc,
                                dnnl::memory::desc({1, channels, 1, 1}, onednn::Dt::f32, onednn::Tag::any)),
      onednn::cpu_engine());
  dnnl::memory slopes_memory(pd.weights_desc(), onednn::cpu_engine());
  onednn::reorder(user_slopes_desc, slopes.data_ptr(), pd.weights_desc(), slopes_memory.get_data_handle());
  dnnl::memory data_memory(data_desc, onednn::cpu_engine(), data.data_ptr());
  dnnl::prelu_forward(pd).execute(
      onednn::cpu_stream(), {{DNNL_ARG_SRC, data_memory}, {DNNL_ARG_WEIGHTS, slopes_memory}, {DNNL_ARG_DST, data_memory}});
  onednn::cpu_stream().wait();
}

}  // namespace uprez
