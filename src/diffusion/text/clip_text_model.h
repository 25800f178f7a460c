// transformers' CLIPTextModel: token + position embeddings, pre-norm transformer layers with a causal mask,
// final layer norm; any width, depth, head count, gelu or quick_gelu. Names follow the state dict (text_model.*).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "diffusion/model/json_config.h"
#include "io/state_dict.h"
#include "nn/fast_matmul.h"

namespace uprez {

struct ClipTextConfig {
  int64_t vocab_size = 49408;
  int64_t hidden_size = 512;
  int64_t intermediate_size = 2048;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 8;
  int64_t max_position_embeddings = 77;
  double layer_norm_eps = 1e-5;
  std::string hidden_act = "quick_gelu";
  int64_t eos_token_id = 2;

  static ClipTextConfig read(JsonConfig config);
};

struct ClipTextOutput {
  torch::Tensor last_hidden_state;   // after the final layer norm (B, L, hidden)
  torch::Tensor last_layer_output;   // the last layer's output before the final layer norm
};

class ClipEncoderLayerImpl : public torch::nn::Module {
 public:
  explicit ClipEncoderLayerImpl(const ClipTextConfig& config);
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& causal_mask);

  torch::nn::LayerNorm layer_norm1{nullptr}, layer_norm2{nullptr};
  std::shared_ptr<torch::nn::Module> self_attn, mlp;

 private:
  torch::Tensor attention(const torch::Tensor& x, const torch::Tensor& causal_mask);
  torch::Tensor activation(torch::Tensor x) const;

  ClipTextConfig config_;
  FastLinear q_proj_{nullptr}, k_proj_{nullptr}, v_proj_{nullptr}, out_proj_{nullptr}, fc1_{nullptr}, fc2_{nullptr};
};
TORCH_MODULE(ClipEncoderLayer);

class ClipTextModelImpl : public torch::nn::Module {
 public:
  explicit ClipTextModelImpl(const ClipTextConfig& config);
  // input_ids (B, L) int64, L <= max_position_embeddings.
  ClipTextOutput forward(const torch::Tensor& input_ids);

 private:
  ClipTextConfig config_;
  torch::nn::Embedding token_embedding_{nullptr}, position_embedding_{nullptr};
  std::vector<ClipEncoderLayer> layers_;
  torch::nn::LayerNorm final_layer_norm_{nullptr};
};
TORCH_MODULE(ClipTextModel);

// The model with `weights` loaded (the position_ids buffer older checkpoints carry is dropped). Throws Error
// naming `what` and the key.
ClipTextModel load_clip_text_model(const ClipTextConfig& config, StateDict weights, const std::string& what);

}  // namespace uprez
