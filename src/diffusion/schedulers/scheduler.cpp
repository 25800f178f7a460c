#include "diffusion/schedulers/scheduler.h"

#include "core/error.h"
#include "diffusion/schedulers/ddim_scheduler.h"
#include "diffusion/schedulers/ddpm_scheduler.h"

namespace uprez {
namespace scheduler {

// A concrete scheduler behind the interface.
template <typename Concrete>
class Adapter : public Scheduler {
 public:
  Adapter(std::string name, Concrete concrete) : name_(std::move(name)), concrete_(std::move(concrete)) {}
  std::string name() const override { return name_; }
  void set_timesteps(int64_t steps) override { concrete_.set_timesteps(steps); }
  const std::vector<int64_t>& timesteps() const override { return concrete_.timesteps(); }
  double init_noise_sigma() const override { return concrete_.init_noise_sigma(); }
  torch::Tensor scale_model_input(const torch::Tensor& sample, int64_t timestep) const override {
    return concrete_.scale_model_input(sample, timestep);
  }
  torch::Tensor step(const torch::Tensor& model_output, int64_t timestep, const torch::Tensor& sample, double eta,
                     NoiseSource& noise) const override {
    if constexpr (std::is_same_v<Concrete, DdimScheduler>) {
      return concrete_.step(model_output, timestep, sample, eta, noise);
    } else {
      return concrete_.step(model_output, timestep, sample, noise);
    }
  }

 private:
  std::string name_;
  Concrete concrete_;
};

}  // namespace scheduler

std::unique_ptr<Scheduler> make_scheduler(const std::string& class_name, JsonConfig config) {
  if (class_name == "DDIMScheduler")
    return std::make_unique<scheduler::Adapter<DdimScheduler>>(class_name, DdimScheduler::from_config(config));
  if (class_name == "DDPMScheduler")
    return std::make_unique<scheduler::Adapter<DdpmScheduler>>(class_name, DdpmScheduler::from_config(config));
  throw Error(config.path() + ": scheduler " + class_name +
              " is not supported by uprez yet (DDIMScheduler, DDPMScheduler)");
}

}  // namespace uprez
