#include "ncnn/net.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <unordered_map>

#include "core/error.h"
#include "io/mapped_file.h"
#include "ncnn/param_file.h"

namespace uprez::ncnn {

namespace net {

// Runs `step` so that whatever it throws becomes an Error naming the layer: messages that already start with the
// layer's context keep it, others (from the .bin reader or LibTorch) get it put in front.
template <typename Step>
auto naming_layer(const Layer& layer, Step&& step) -> decltype(step()) {
  try {
    return step();
  } catch (const std::exception& error) {
    const std::string message = one_line_message(error);
    const bool names_layer = message.compare(0, layer.context.size(), layer.context) == 0;
    throw Error(names_layer ? message : layer.context + ": " + message);
  }
}

}  // namespace net

Net Net::load(const std::string& param_path, const std::string& bin_path, const Option& opt) {
  return load(read_param_file(param_path), param_path, bin_path, opt);
}

Net Net::load(const ParamFile& file, const std::string& param_path, const std::string& bin_path, const Option& opt) {
  Net net;
  net.param_path_ = param_path;
  std::unordered_map<std::string, int> blob_indices;
  std::vector<std::string> producer_locations;  // by blob index

  for (const ParamLayer& description : file.layers) {
    const std::string& context = description.params.context();
    LayerEntry entry;
    for (const std::string& blob : description.inputs) {
      const auto found = blob_indices.find(blob);
      if (found == blob_indices.end())
        throw Error(context + ": input blob '" + blob + "' is used before any layer produces it");
      entry.inputs.push_back(found->second);
    }
    for (const std::string& blob : description.outputs) {
      const int index = static_cast<int>(net.blob_names_.size());
      const auto [found, inserted] = blob_indices.emplace(blob, index);
      if (!inserted)
        throw Error(context + ": output blob '" + blob + "' was already produced at " +
                    producer_locations[found->second]);
      net.blob_names_.push_back(blob);
      producer_locations.push_back(description.location);
      entry.outputs.push_back(index);
    }

    entry.layer = create_layer(description.type);
    if (!entry.layer) throw Error(context + ": unknown layer type '" + description.type + "'");
    entry.layer->name = description.name;
    entry.layer->context = context;
    entry.layer->output_count = static_cast<int>(entry.outputs.size());
    net::naming_layer(*entry.layer, [&] { entry.layer->load_param(description.params); });
    net.layers_.push_back(std::move(entry));
  }
  if (net.blob_names_.size() != static_cast<size_t>(file.blob_count))
    throw Error(file.counts_location + ": declares " + std::to_string(file.blob_count) + " blobs, the layers produce " +
                std::to_string(net.blob_names_.size()));
  const ParamLayer& first = file.layers.front();
  const ParamLayer& last = file.layers.back();
  if (first.outputs.empty()) throw Error(first.params.context() + ": the first layer produces no blob (default input)");
  if (last.outputs.empty()) throw Error(last.params.context() + ": the last layer produces no blob (default output)");
  net.default_input_ = first.outputs.front();
  net.default_output_ = last.outputs.front();

  const MappedFile bin_file(bin_path);
  ModelBin bin(bin_file.bytes(), bin_path);
  for (LayerEntry& entry : net.layers_) net::naming_layer(*entry.layer, [&] { entry.layer->load_model(bin); });
  if (bin.remaining() != 0)
    throw Error(bin_path + ": " + std::to_string(bin.remaining()) +
                " bytes are left over after the last layer's weights (does it belong to " + param_path + "?)");
  for (LayerEntry& entry : net.layers_) entry.layer->create_pipeline(opt);
  return net;
}

bool Net::has_blob(const std::string& name) const {
  return std::find(blob_names_.begin(), blob_names_.end(), name) != blob_names_.end();
}

namespace net {

// A blob during a run: a tensor in ncnn's Mat shape, a (1, c, h, w) feature map, or both once converted.
class Blob {
 public:
  Blob() = default;
  explicit Blob(torch::Tensor tensor) : tensor_(std::move(tensor)) {}
  explicit Blob(FeatureMap map) : map_(std::move(map)) {}

  bool is_map() const { return map_.defined(); }
  bool mappable() const { return map_.defined() || tensor_.dim() == 3; }
  const torch::Tensor& tensor() {
    if (!tensor_.defined()) tensor_ = map_.to_tensor().squeeze(0);
    return tensor_;
  }
  const FeatureMap& map() {
    if (!map_.defined()) map_ = FeatureMap(tensor_.unsqueeze(0));
    return map_;
  }

 private:
  torch::Tensor tensor_;
  FeatureMap map_;
};

// The epilogue (post-operations) of the fused layers, with their other operands; none when an operand is not a
// (c, h, w) blob (a broadcast operand: the layers then run unfused).
std::optional<PostOps> epilogue_of(const std::vector<Net::LayerEntry>& layers, const Net::Step& step,
                                   std::vector<Blob>& values) {
  PostOps post;
  for (const Net::FusedLayer& fused : step.fused) {
    const Layer::Epilogue epilogue = *layers[fused.layer].layer->epilogue();
    if (!epilogue.weighted_sum) {
      post.append(epilogue.activation);
      continue;
    }
    if (!values[fused.other].mappable()) return std::nullopt;
    const double own = epilogue.coefficients[fused.slot], other = epilogue.coefficients[1 - fused.slot];
    if (own != 1) post.scale(own);
    post.add(values[fused.other].map(), other);
  }
  if (post.empty()) return std::nullopt;
  return post;
}

// Concatenations that share one buffer, as in ESRGAN's dense blocks, where each Concat joins the previous one's
// inputs plus one more: the longest Concat of such a chain owns a buffer, allocated when the first blob it joins is
// produced (or at its first Concat when the producers do not say their channel counts); later blobs are written
// straight into their channel slices by their convolutions (destination) or copied there once, and every Concat of
// the chain becomes a view of the buffer's first channels instead of a copy of all its inputs.
class ConcatChains {
 public:
  ConcatChains(const std::vector<Net::LayerEntry>& layers, const std::vector<Net::Step>& steps, size_t blob_count)
      : layers_(layers), producers_(blob_count, -1), declared_channels_(blob_count, 0), slots_(blob_count, {-1, -1}) {
    for (size_t layer = 0; layer < layers.size(); ++layer)
      for (const int blob : layers[layer].outputs) producers_[blob] = static_cast<int>(layer);
    // What each step's output declares: its first layer's channel count (the layers it takes over keep it).
    for (const Net::Step& step : steps)
      if (step.outputs.size() == 1) declared_channels_[step.outputs[0]] = layers[step.layer].layer->output_channels();
    std::vector<std::pair<int, std::vector<int>>> concats;  // layer, the blobs it joins (through Splits)
    for (const Net::Step& step : steps) {
      if (!step.fused.empty() || layers[step.layer].layer->type != "Concat") continue;
      std::vector<int> sources;
      for (const int blob : layers[step.layer].inputs) sources.push_back(source_of(blob));
      concats.emplace_back(step.layer, sources);
    }
    std::stable_sort(concats.begin(), concats.end(),
                     [](const auto& a, const auto& b) { return a.second.size() > b.second.size(); });
    std::vector<int> members;
    for (const auto& [layer, sources] : concats) {
      size_t chain = 0;
      while (chain < chains_.size() && !std::equal(sources.begin(), sources.end(), chains_[chain].sources.begin()))
        ++chain;
      if (chain == chains_.size()) {
        std::vector<int> sorted = sources;
        std::sort(sorted.begin(), sorted.end());
        if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) continue;  // a blob joined twice
        Chain added;
        added.sources = sources;
        chains_.push_back(std::move(added));
        members.push_back(0);
      }
      chain_of_[layer] = static_cast<int>(chain);
      ++members[chain];
      ++chains_[chain].members_left;
    }
    for (auto it = chain_of_.begin(); it != chain_of_.end();)  // a lone Concat gains nothing
      it = members[it->second] < 2 ? chain_of_.erase(it) : std::next(it);
    for (size_t blob = 0; blob < blob_count; ++blob) {
      const int source = source_of(static_cast<int>(blob));
      for (size_t chain = 0; chain < chains_.size(); ++chain) {
        const auto& sources = chains_[chain].sources;
        const auto found = std::find(sources.begin(), sources.end(), source);
        if (found != sources.end()) slots_[blob] = {static_cast<int>(chain), static_cast<int>(found - sources.begin())};
      }
    }
  }

  // The output of Concat `layer` as a view of its chain's buffer, when every input is in its slice (allocating
  // the buffer on the chain's first Concat); none when the Concat must copy.
  std::optional<FeatureMap> view(int layer, const std::vector<Blob*>& inputs) {
    const auto member = chain_of_.find(layer);
    if (member == chain_of_.end()) return std::nullopt;
    Chain& chain = chains_[member->second];
    if (!chain.buffer.defined() && !chain.failed) {
      std::vector<const FeatureMap*> known;
      for (Blob* input : inputs) {
        if (!input->mappable()) {
          chain.failed = true;
          break;
        }
        known.push_back(&input->map());
      }
      chain.failed = chain.failed || !allocate(chain, known);
    }
    std::optional<FeatureMap> result;
    if (!chain.failed) {
      int64_t channels = 0;
      for (size_t i = 0; i < inputs.size() && channels >= 0; ++i)
        channels = chain.filled[i] ? channels + chain.channels[i] : -1;
      if (channels >= 0) result = chain.buffer.narrow_channels(0, channels);
    }
    // The views live on in the blobs; the chain lets go of its buffer after its last Concat.
    if (--chain.members_left == 0) chain.buffer = FeatureMap();
    return result;
  }

  // The channel slice a step producing `blob` may write its result into: the blob's slice of the chain's buffer,
  // unless it is filled already. The first blob of a chain allocates the buffer with the size of `like` (the step's
  // input: right for the size-keeping convolutions of dense blocks; produced() corrects it otherwise).
  std::optional<FeatureMap> destination(int blob, const FeatureMap* like) {
    const auto [index, slot] = slots_[blob];
    if (index < 0) return std::nullopt;
    Chain& chain = chains_[index];
    if (!chain.buffer.defined() && !chain.failed && chain.members_left > 0 && !chain.any_produced && like != nullptr)
      allocate(chain, {}, like);
    if (!chain.buffer.defined() || chain.filled[slot]) return std::nullopt;
    return chain.buffer.narrow_channels(chain.offsets[slot], chain.channels[slot]);
  }

  // A blob was produced: the chain's buffer is allocated if this is the first blob it joins, and the blob is put in
  // its slice (nothing to copy when the step wrote it there).
  void produced(int blob, Blob& value) {
    const auto [index, slot] = slots_[blob];
    if (index < 0 || !value.is_map()) return;
    Chain& chain = chains_[index];
    const FeatureMap& map = value.map();
    if (chain.buffer.defined() && !chain.any_produced && !fits(chain, slot, map)) chain.buffer = FeatureMap();
    if (!chain.buffer.defined() && !chain.failed && chain.members_left > 0 && !chain.any_produced) {
      std::vector<const FeatureMap*> known(chain.sources.size(), nullptr);
      known[slot] = &map;
      allocate(chain, known);  // failing here leaves it to the first Concat
    }
    chain.any_produced = true;
    if (!chain.buffer.defined() || chain.filled[slot] || !fits(chain, slot, map)) return;
    FeatureMap target = chain.buffer.narrow_channels(chain.offsets[slot], chain.channels[slot]);
    if (map.data().data_ptr() != target.data().data_ptr()) target.copy_(map);
    chain.filled[slot] = true;
  }

 private:
  struct Chain {
    std::vector<int> sources;  // the longest Concat's inputs, through Splits
    std::vector<int64_t> channels, offsets;
    std::vector<bool> filled;
    FeatureMap buffer;
    int members_left = 0;  // Concats of the chain still to run
    bool any_produced = false;
    bool failed = false;
  };

  static bool fits(const Chain& chain, int slot, const FeatureMap& map) {
    return map.channels() == chain.channels[slot] && map.height() == chain.buffer.height() &&
           map.width() == chain.buffer.width() && map.blocked() == chain.buffer.blocked();
  }

  int source_of(int blob) const {
    while (producers_[blob] >= 0 && layers_[producers_[blob]].layer->type == "Split")
      blob = layers_[producers_[blob]].inputs[0];
    return blob;
  }

  // The chain's buffer, sized from the maps `known` (by slot; null or missing where not known yet: then the channel
  // count the producing step declares), which are copied into their slices, or from `like` when none is known;
  // false when that cannot work (unknown channels, maps of different sizes or layouts, blocked slices not on whole
  // blocks of 16 channels).
  bool allocate(Chain& chain, const std::vector<const FeatureMap*>& known, const FeatureMap* like = nullptr) {
    const FeatureMap* first = like;
    for (const FeatureMap* map : known)
      if (map != nullptr && first == like) first = map;
    if (first == nullptr || first->batch() != 1) return false;
    std::vector<int64_t> channels, offsets;
    for (size_t i = 0; i < chain.sources.size(); ++i) {
      const FeatureMap* map = i < known.size() ? known[i] : nullptr;
      int64_t count = 0;
      if (map != nullptr) {
        if (map->batch() != 1 || map->height() != first->height() || map->width() != first->width() ||
            map->blocked() != first->blocked())
          return false;
        count = map->channels();
      } else {
        count = declared_channels_[chain.sources[i]];
      }
      if (count <= 0) return false;
      if (first->blocked() && i + 1 < chain.sources.size() && count % 16 != 0) return false;
      offsets.push_back(i == 0 ? 0 : offsets.back() + channels.back());
      channels.push_back(count);
    }
    chain.channels = channels;
    chain.offsets = offsets;
    chain.buffer = FeatureMap::empty_like(*first, offsets.back() + channels.back());
    chain.filled.assign(chain.sources.size(), false);
    for (size_t i = 0; i < known.size(); ++i) {
      if (known[i] == nullptr) continue;
      chain.buffer.narrow_channels(offsets[i], channels[i]).copy_(*known[i]);
      chain.filled[i] = true;
    }
    return true;
  }

  const std::vector<Net::LayerEntry>& layers_;
  std::vector<int> producers_;
  std::vector<int64_t> declared_channels_;  // by blob: the producing step's channel count, or 0
  std::vector<Chain> chains_;
  std::map<int, int> chain_of_;            // Concat layer -> chain
  std::vector<std::pair<int, int>> slots_;  // blob -> (chain, slot), or (-1, -1)
};

// The layer on `inputs`: as maps where its map_use says so, else as tensors. With a non-empty `epilogue` only the
// map path runs, and an empty result means the layer declined it. A `destination` is offered to the map path for
// the single output (the result is then that map).
std::vector<Blob> run_layer(const Layer& layer, const std::vector<Blob*>& inputs, const PostOps& epilogue,
                            const std::optional<FeatureMap>& destination = std::nullopt) {
  const Layer::MapUse use = layer.map_use();
  const bool mappable = std::all_of(inputs.begin(), inputs.end(), [](Blob* blob) { return blob->mappable(); });
  const bool any_map = std::any_of(inputs.begin(), inputs.end(), [](Blob* blob) { return blob->is_map(); });
  if (mappable && (use == Layer::MapUse::Always || (use == Layer::MapUse::WhenMapped && any_map))) {
    std::vector<FeatureMap> maps;
    for (Blob* blob : inputs) maps.push_back(blob->map());
    if (destination && naming_layer(layer, [&] { return layer.forward_map_into(maps, epilogue, *destination); }))
      return {Blob(*destination)};
    std::vector<FeatureMap> outputs = naming_layer(layer, [&] { return layer.forward_maps(maps, epilogue); });
    if (!outputs.empty()) return std::vector<Blob>(outputs.begin(), outputs.end());
  }
  if (!epilogue.empty()) return {};
  std::vector<torch::Tensor> tensors;
  for (Blob* blob : inputs) tensors.push_back(blob->tensor());
  const std::vector<torch::Tensor> outputs = naming_layer(layer, [&] { return layer.forward(tensors); });
  return std::vector<Blob>(outputs.begin(), outputs.end());
}

}  // namespace net

torch::Tensor Net::run(const torch::Tensor& input, const std::string& input_blob,
                       const std::string& output_blob) const {
  return run(Inputs{{input_blob, input}}, output_blob);
}

int Net::blob_index(const std::string& name) const {
  const auto found = std::find(blob_names_.begin(), blob_names_.end(), name);
  if (found == blob_names_.end()) throw Error(param_path_ + ": the network has no blob named '" + name + "'");
  return static_cast<int>(found - blob_names_.begin());
}

std::vector<Net::Step> Net::plan(const std::vector<bool>& bound, int output_index) const {
  std::vector<int> producers(blob_names_.size());
  for (size_t layer = 0; layer < layers_.size(); ++layer)
    for (const int blob : layers_[layer].outputs) producers[blob] = static_cast<int>(layer);

  // The layers the output depends on, walking back from it; bound blobs need no producer.
  std::vector<bool> needed(layers_.size(), false);
  std::vector<bool> blob_reached(blob_names_.size(), false);
  std::vector<int> pending{output_index};
  while (!pending.empty()) {
    const int blob = pending.back();
    pending.pop_back();
    if (bound[blob] || blob_reached[blob]) continue;
    blob_reached[blob] = true;
    const int producer = producers[blob];
    if (needed[producer]) continue;
    needed[producer] = true;
    pending.insert(pending.end(), layers_[producer].inputs.begin(), layers_[producer].inputs.end());
  }

  // The steps: each needed layer, taking over the chain of layers with epilogues that are the only readers of
  // its output (neither the bound input nor the requested output is fused away).
  std::vector<std::vector<int>> readers(blob_names_.size());
  for (size_t layer = 0; layer < layers_.size(); ++layer)
    if (needed[layer])
      for (const int blob : layers_[layer].inputs) readers[blob].push_back(static_cast<int>(layer));
  std::vector<bool> absorbed(layers_.size(), false);
  std::vector<Step> steps;
  for (size_t layer = 0; layer < layers_.size(); ++layer) {
    if (!needed[layer] || absorbed[layer]) continue;
    Step step{static_cast<int>(layer), {}, layers_[layer].outputs};
    while (layers_[layer].layer->accepts_epilogue() && step.outputs.size() == 1) {
      const int blob = step.outputs[0];
      if (blob == output_index || bound[blob] || readers[blob].size() != 1 || absorbed[readers[blob][0]]) break;
      const LayerEntry& follower = layers_[readers[blob][0]];
      const std::optional<Layer::Epilogue> epilogue = follower.layer->epilogue();
      if (!epilogue || follower.outputs.size() != 1 || follower.inputs.size() != (epilogue->weighted_sum ? 2u : 1u))
        break;
      FusedLayer fused{readers[blob][0]};
      if (epilogue->weighted_sum) {
        fused.slot = follower.inputs[0] == blob ? 0 : 1;
        fused.other = follower.inputs[1 - fused.slot];
      }
      absorbed[fused.layer] = true;
      step.fused.push_back(fused);
      step.outputs = follower.outputs;
    }
    steps.push_back(std::move(step));
  }
  std::stable_sort(steps.begin(), steps.end(),
                   [](const Step& a, const Step& b) { return a.position() < b.position(); });
  return steps;
}

std::vector<std::vector<std::string>> Net::step_layers(const std::vector<std::string>& bound_blobs,
                                                      const std::string& output_blob) const {
  std::vector<bool> bound(blob_names_.size(), false);
  for (const std::string& name : bound_blobs) bound[blob_index(name)] = true;
  std::vector<std::vector<std::string>> names;
  for (const Step& step : plan(bound, blob_index(output_blob))) {
    names.push_back({layers_[step.layer].layer->name});
    for (const FusedLayer& fused : step.fused) names.back().push_back(layers_[fused.layer].layer->name);
  }
  return names;
}

torch::Tensor Net::run(const Inputs& inputs, const std::string& output_blob) const {
  std::vector<bool> bound(blob_names_.size(), false);
  for (const auto& [name, tensor] : inputs) bound[blob_index(name)] = true;
  const int output_index = blob_index(output_blob);
  const std::vector<Step> steps = plan(bound, output_index);

  // Each blob is freed once the last step reading it has run; the output blob counts as one more reader.
  auto reads = [&](const Step& step) {
    std::vector<int> blobs = layers_[step.layer].inputs;
    for (const FusedLayer& fused : step.fused)
      if (fused.other >= 0) blobs.push_back(fused.other);
    return blobs;
  };
  std::vector<int> readers_left(blob_names_.size(), 0);
  for (const Step& step : steps)
    for (const int blob : reads(step)) ++readers_left[blob];
  ++readers_left[output_index];

  std::vector<net::Blob> values(blob_names_.size());
  for (const auto& [name, tensor] : inputs) values[blob_index(name)] = net::Blob(tensor);
  net::ConcatChains concat_chains(layers_, steps, blob_names_.size());
  for (const Step& step : steps) {
    const LayerEntry& entry = layers_[step.layer];
    std::vector<net::Blob*> inputs;
    for (const int blob : entry.inputs) inputs.push_back(&values[blob]);
    std::vector<net::Blob> outputs;
    if (const std::optional<FeatureMap> view = concat_chains.view(step.layer, inputs)) outputs.emplace_back(*view);
    const FeatureMap* like = !inputs.empty() && inputs[0]->is_map() ? &inputs[0]->map() : nullptr;
    const std::optional<FeatureMap> destination =
        step.outputs.size() == 1 && outputs.empty() ? concat_chains.destination(step.outputs[0], like) : std::nullopt;
    if (!step.fused.empty() && outputs.empty())
      if (const std::optional<PostOps> epilogue = net::epilogue_of(layers_, step, values))
        outputs = net::run_layer(*entry.layer, inputs, *epilogue, destination);
    if (outputs.empty()) {
      // Unfused: the layer, then each fused layer on its result.
      outputs = net::run_layer(*entry.layer, inputs, {}, step.fused.empty() ? destination : std::nullopt);
      for (const FusedLayer& fused : step.fused) {
        if (outputs.size() != 1) break;
        net::Blob result = outputs[0];
        std::vector<net::Blob*> operands{&result};
        if (fused.other >= 0) operands.insert(operands.begin() + (fused.slot == 0 ? 1 : 0), &values[fused.other]);
        outputs = net::run_layer(*layers_[fused.layer].layer, operands, {});
      }
    }
    const Layer& last = step.fused.empty() ? *entry.layer : *layers_[step.fused.back().layer].layer;
    if (outputs.size() != step.outputs.size())
      throw Error(last.context + ": produced " + std::to_string(outputs.size()) + " outputs, expected " +
                  std::to_string(step.outputs.size()));
    for (size_t i = 0; i < outputs.size(); ++i) {
      const int blob = step.outputs[i];
      if (bound[blob] || readers_left[blob] == 0) continue;
      values[blob] = std::move(outputs[i]);
      concat_chains.produced(blob, values[blob]);
    }
    for (const int blob : reads(step))
      if (--readers_left[blob] == 0) values[blob] = net::Blob();
  }
  return values[output_index].tensor();
}

void Net::to(const torch::Device& device, torch::Dtype dtype) {
  for (LayerEntry& entry : layers_) entry.layer->to(device, dtype);
}

}  // namespace uprez::ncnn
