// Input: the placeholder for a blob the caller binds. Net::run puts the bound tensor in its output blob and does
// not run the layer; params 0=w, 1=h, 2=c are shape hints only.
#include "core/error.h"
#include "ncnn/layers/layers.h"

namespace uprez::ncnn {

namespace input {

class InputLayer : public Layer {
 public:
  // Runs only when the blob was left unbound (ncnn would hand an empty blob on).
  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& inputs) const override {
    (void)inputs;
    throw Error(context + ": no tensor is bound to this input blob");
  }
};

}  // namespace input

std::unique_ptr<Layer> make_input_layer() { return std::make_unique<input::InputLayer>(); }

}  // namespace uprez::ncnn
