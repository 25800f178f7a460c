#include "diffusion/vae/autoencoder_kl.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "diffusion/model/loaded.h"

namespace uprez {
namespace autoencoder_kl {

// diffusers' blend_v / blend_h: the first `extent` rows (columns) of `b` fade from `a`'s last ones.
void blend(const torch::Tensor& a, torch::Tensor& b, int64_t extent, int64_t dim) {
  extent = std::min({a.size(dim), b.size(dim), extent});
  for (int64_t i = 0; i < extent; ++i) {
    const double w = static_cast<double>(i) / static_cast<double>(extent);
    torch::Tensor bi = b.narrow(dim, i, 1);
    bi.copy_(a.narrow(dim, a.size(dim) - extent + i, 1) * (1 - w) + bi * w);
  }
}

// Renames pre-0.14 attention keys (mid_block.attentions.0.query ...) to the current ones.
void rename_deprecated_attention(StateDict& weights) {
  const std::vector<std::pair<std::string, std::string>> renames{
      {".query.", ".to_q."}, {".key.", ".to_k."}, {".value.", ".to_v."}, {".proj_attn.", ".to_out.0."}};
  const std::vector<std::string> keys = weights.keys();
  for (const std::string& key : keys) {
    if (key.find("attentions.") == std::string::npos) continue;
    for (const auto& [old_name, new_name] : renames) {
      const size_t at = key.find(old_name);
      if (at == std::string::npos) continue;
      std::string renamed = key;
      renamed.replace(at, old_name.size(), new_name);
      torch::Tensor t = weights.at(key);
      // 1x1 conv weights of very old checkpoints become linear weights.
      if (t.dim() == 4) t = t.flatten(1);
      weights.erase(key);
      weights.set(renamed, t);
    }
  }
}

}  // namespace autoencoder_kl

AutoencoderKLImpl::AutoencoderKLImpl(const VaeConfig& c) : config_(c) {
  encoder = register_module("encoder", VaeEncoder(c));
  decoder = register_module("decoder", VaeDecoder(c));
  if (c.use_quant_conv)
    quant_conv = register_module("quant_conv", FastConv2d(2 * c.latent_channels, 2 * c.latent_channels, 1));
  if (c.use_post_quant_conv)
    post_quant_conv = register_module("post_quant_conv", FastConv2d(c.latent_channels, c.latent_channels, 1));
}

int64_t AutoencoderKLImpl::tile_latent_size() const { return config_.sample_size / config_.scale_factor(); }

torch::Tensor AutoencoderKLImpl::decode_whole(const torch::Tensor& z) {
  return decoder->forward(post_quant_conv ? post_quant_conv->forward(z) : z);
}

torch::Tensor AutoencoderKLImpl::decode_tiled(const torch::Tensor& z) {
  const int64_t tile = tile_latent_size();
  const int64_t overlap = static_cast<int64_t>(tile * (1 - 0.25));
  const int64_t blend_extent = static_cast<int64_t>(tile_sample_size() * 0.25);
  const int64_t row_limit = tile_sample_size() - blend_extent;
  std::vector<std::vector<torch::Tensor>> rows;
  for (int64_t i = 0; i < z.size(2); i += overlap) {
    rows.emplace_back();
    for (int64_t j = 0; j < z.size(3); j += overlap) {
      const torch::Tensor piece = z.narrow(2, i, std::min(tile, z.size(2) - i)).narrow(3, j, std::min(tile, z.size(3) - j));
      rows.back().push_back(decode_whole(piece));
    }
  }
  std::vector<torch::Tensor> result_rows;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<torch::Tensor> row;
    for (size_t j = 0; j < rows[i].size(); ++j) {
      torch::Tensor& t = rows[i][j];
      if (i > 0) autoencoder_kl::blend(rows[i - 1][j], t, blend_extent, 2);
      if (j > 0) autoencoder_kl::blend(rows[i][j - 1], t, blend_extent, 3);
      row.push_back(t.narrow(2, 0, std::min(row_limit, t.size(2))).narrow(3, 0, std::min(row_limit, t.size(3))));
    }
    result_rows.push_back(torch::cat(row, 3));
  }
  return torch::cat(result_rows, 2);
}

torch::Tensor AutoencoderKLImpl::decode(const torch::Tensor& z, const VaeDecodeOptions& options) {
  const int64_t tile = tile_latent_size();
  const bool tiled = options.tiling && (z.size(2) > tile || z.size(3) > tile);
  if (options.slicing && z.size(0) > 1) {
    std::vector<torch::Tensor> parts;
    for (int64_t b = 0; b < z.size(0); ++b) parts.push_back(decode(z.narrow(0, b, 1), {false, options.tiling}));
    return torch::cat(parts, 0);
  }
  return tiled ? decode_tiled(z) : decode_whole(z);
}

torch::Tensor AutoencoderKLImpl::encode_moments(const torch::Tensor& x) {
  torch::Tensor moments = encoder->forward(x);
  return quant_conv ? quant_conv->forward(moments) : moments;
}

AutoencoderKL load_autoencoder_kl(const VaeConfig& config, StateDict weights, const std::string& what) {
  autoencoder_kl::rename_deprecated_attention(weights);
  return loaded<AutoencoderKL>(config, std::move(weights), what);
}

}  // namespace uprez
