#include "ncnn/net.h"

#include <algorithm>
#include <unordered_map>

#include "core/error.h"
#include "io/mapped_file.h"
#include "ncnn/param_file.h"

namespace uprez::ncnn {

namespace {

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

}  // namespace

Net Net::load(const std::string& param_path, const std::string& bin_path) {
  const ParamFile file = read_param_file(param_path);
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
    naming_layer(*entry.layer, [&] { entry.layer->load_param(description.params); });
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
  for (LayerEntry& entry : net.layers_) naming_layer(*entry.layer, [&] { entry.layer->load_model(bin); });
  if (bin.remaining() != 0)
    throw Error(bin_path + ": " + std::to_string(bin.remaining()) +
                " bytes are left over after the last layer's weights (does it belong to " + param_path + "?)");
  return net;
}

bool Net::has_blob(const std::string& name) const {
  return std::find(blob_names_.begin(), blob_names_.end(), name) != blob_names_.end();
}

torch::Tensor Net::run(const torch::Tensor& input, const std::string& input_blob,
                       const std::string& output_blob) const {
  const auto index_of = [&](const std::string& name) {
    const auto found = std::find(blob_names_.begin(), blob_names_.end(), name);
    if (found == blob_names_.end()) throw Error(param_path_ + ": the network has no blob named '" + name + "'");
    return static_cast<int>(found - blob_names_.begin());
  };
  const int input_index = index_of(input_blob);
  const int output_index = index_of(output_blob);

  std::vector<int> producers(blob_names_.size());
  for (size_t layer = 0; layer < layers_.size(); ++layer)
    for (const int blob : layers_[layer].outputs) producers[blob] = static_cast<int>(layer);

  // The layers the output depends on, walking back from it; the bound input blob needs no producer.
  std::vector<bool> needed(layers_.size(), false);
  std::vector<bool> blob_reached(blob_names_.size(), false);
  std::vector<int> pending{output_index};
  while (!pending.empty()) {
    const int blob = pending.back();
    pending.pop_back();
    if (blob == input_index || blob_reached[blob]) continue;
    blob_reached[blob] = true;
    const int producer = producers[blob];
    if (needed[producer]) continue;
    needed[producer] = true;
    pending.insert(pending.end(), layers_[producer].inputs.begin(), layers_[producer].inputs.end());
  }

  // Each blob is freed once the last needed layer reading it has run; the output blob counts as one more reader.
  std::vector<int> readers_left(blob_names_.size(), 0);
  for (size_t layer = 0; layer < layers_.size(); ++layer)
    if (needed[layer])
      for (const int blob : layers_[layer].inputs) ++readers_left[blob];
  ++readers_left[output_index];

  std::vector<torch::Tensor> values(blob_names_.size());
  values[input_index] = input;
  for (size_t layer = 0; layer < layers_.size(); ++layer) {
    if (!needed[layer]) continue;
    const LayerEntry& entry = layers_[layer];
    std::vector<torch::Tensor> inputs;
    for (const int blob : entry.inputs) inputs.push_back(values[blob]);
    const std::vector<torch::Tensor> outputs = naming_layer(*entry.layer, [&] { return entry.layer->forward(inputs); });
    if (outputs.size() != entry.outputs.size())
      throw Error(entry.layer->context + ": produced " + std::to_string(outputs.size()) + " outputs, expected " +
                  std::to_string(entry.outputs.size()));
    for (size_t i = 0; i < outputs.size(); ++i) {
      const int blob = entry.outputs[i];
      if (blob != input_index && readers_left[blob] > 0) values[blob] = outputs[i];
    }
    for (const int blob : entry.inputs)
      if (--readers_left[blob] == 0) values[blob] = torch::Tensor();
  }
  return values[output_index];
}

void Net::to(const torch::Device& device, torch::Dtype dtype) {
  for (LayerEntry& entry : layers_) entry.layer->to(device, dtype);
}

}  // namespace uprez::ncnn
