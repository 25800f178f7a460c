#include "diffusion/text/clip_text_model.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "nn/chunked_attention.h"
#include "diffusion/model/loaded.h"

namespace uprez {
namespace clip_text_model {

torch::nn::LayerNorm layer_norm(const ClipTextConfig& c) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps));
}

// A module holding linear layers under the given names (self_attn.q_proj ..., mlp.fc1 ...).
std::shared_ptr<torch::nn::Module> holder(std::initializer_list<std::pair<const char*, FastLinear>> children) {
  auto module = std::make_shared<torch::nn::Module>();
  for (const auto& [name, linear] : children) module->register_module(name, linear);
  return module;
}

}  // namespace clip_text_model

ClipTextConfig ClipTextConfig::read(JsonConfig c) {
  ClipTextConfig t;
  t.vocab_size = c.integer("vocab_size", 49408);
  t.hidden_size = c.integer("hidden_size", 512);
  t.intermediate_size = c.integer("intermediate_size", 2048);
  t.num_hidden_layers = c.integer("num_hidden_layers", 12);
  t.num_attention_heads = c.integer("num_attention_heads", 8);
  t.max_position_embeddings = c.integer("max_position_embeddings", 77);
  t.layer_norm_eps = c.number("layer_norm_eps", 1e-5);
  t.hidden_act = c.string("hidden_act", "quick_gelu");
  c.require("hidden_act", {"gelu", "quick_gelu"});
  t.eos_token_id = c.integer("eos_token_id", 2);
  c.require("model_type", {"clip_text_model"});
  c.require("architectures", {nlohmann::json::array({"CLIPTextModel"})});
  c.ignore({"attention_dropout", "bos_token_id", "pad_token_id", "initializer_factor", "initializer_range",
            "projection_dim", "torch_dtype", "transformers_version", "dropout", "hidden_dropout_prob"});
  c.finish();
  if (t.hidden_size % t.num_attention_heads != 0)
    throw Error(c.field("num_attention_heads") + ": hidden_size is not a multiple of it");
  return t;
}

ClipEncoderLayerImpl::ClipEncoderLayerImpl(const ClipTextConfig& c) : config_(c) {
  const int64_t h = c.hidden_size;
  layer_norm1 = register_module("layer_norm1", clip_text_model::layer_norm(c));
  q_proj_ = FastLinear(h, h);
  k_proj_ = FastLinear(h, h);
  v_proj_ = FastLinear(h, h);
  out_proj_ = FastLinear(h, h);
  self_attn = register_module("self_attn", clip_text_model::holder({{"q_proj", q_proj_}, {"k_proj", k_proj_},
                                                                     {"v_proj", v_proj_}, {"out_proj", out_proj_}}));
  layer_norm2 = register_module("layer_norm2", clip_text_model::layer_norm(c));
  fc1_ = FastLinear(h, c.intermediate_size);
  fc2_ = FastLinear(c.intermediate_size, h);
  mlp = register_module("mlp", clip_text_model::holder({{"fc1", fc1_}, {"fc2", fc2_}}));
}

torch::Tensor ClipEncoderLayerImpl::attention(const torch::Tensor& x, const torch::Tensor& causal_mask) {
  const int64_t b = x.size(0), l = x.size(1), heads = config_.num_attention_heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(config_.hidden_size / heads));
  auto split = [&](const torch::Tensor& t) { return t.view({b, l, heads, -1}).transpose(1, 2); };
  // transformers scales the queries before the product.
  torch::Tensor q = split(q_proj_->forward(x) * scale);
  torch::Tensor out = chunked_attention(q, split(k_proj_->forward(x)), split(v_proj_->forward(x)), 1.0, causal_mask);
  return out_proj_->forward(out.transpose(1, 2).reshape({b, l, -1}));
}

torch::Tensor ClipEncoderLayerImpl::activation(torch::Tensor x) const {
  if (config_.hidden_act == "gelu") return torch::gelu(x);
  return x * torch::sigmoid(x * 1.702);
}

torch::Tensor ClipEncoderLayerImpl::forward(torch::Tensor x, const torch::Tensor& causal_mask) {
  x = x + attention(layer_norm1->forward(x), causal_mask);
  return x + fc2_->forward(activation(fc1_->forward(layer_norm2->forward(x))));
}

ClipTextModelImpl::ClipTextModelImpl(const ClipTextConfig& c) : config_(c) {
  auto text_model = register_module("text_model", std::make_shared<torch::nn::Module>());
  auto embeddings = text_model->register_module("embeddings", std::make_shared<torch::nn::Module>());
  token_embedding_ = embeddings->register_module("token_embedding", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  position_embedding_ = embeddings->register_module(
      "position_embedding", torch::nn::Embedding(c.max_position_embeddings, c.hidden_size));
  auto encoder = text_model->register_module("encoder", std::make_shared<torch::nn::Module>());
  auto layers = encoder->register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    layers_.push_back(ClipEncoderLayer(c));
    layers->push_back(layers_.back());
  }
  final_layer_norm_ = text_model->register_module("final_layer_norm", clip_text_model::layer_norm(c));
}

ClipTextOutput ClipTextModelImpl::forward(const torch::Tensor& input_ids) {
  const int64_t l = input_ids.size(1);
  if (l > config_.max_position_embeddings)
    throw Error("text encoder: " + std::to_string(l) + " tokens, the model takes at most " +
                std::to_string(config_.max_position_embeddings));
  const torch::Tensor ids = input_ids.to(token_embedding_->weight.device(), torch::kLong);
  const torch::Tensor positions = torch::arange(l, ids.options());
  torch::Tensor x = token_embedding_->forward(ids) + position_embedding_->forward(positions).unsqueeze(0);
  const float lowest = std::numeric_limits<float>::lowest();
  const torch::Tensor mask = torch::full({l, l}, lowest, x.options().dtype(torch::kFloat32)).triu_(1);
  for (ClipEncoderLayer& layer : layers_) x = layer->forward(x, mask);
  return {final_layer_norm_->forward(x), x};
}

ClipTextModel load_clip_text_model(const ClipTextConfig& config, StateDict weights, const std::string& what) {
  weights.erase("text_model.embeddings.position_ids");
  return loaded<ClipTextModel>(config, std::move(weights), what);
}

}  // namespace uprez
