// Building a network whose weights are about to be loaded without drawing random initial values first (for a
// 900M-parameter diffusion model that costs ~10 s and nothing else): FastConv2d and FastLinear leave their new
// parameters uninitialised while a SkipInit is alive on the thread.
#pragma once

namespace uprez {

class SkipInit {
 public:
  SkipInit();
  ~SkipInit();
  SkipInit(const SkipInit&) = delete;
  SkipInit& operator=(const SkipInit&) = delete;
  // True while a SkipInit is alive on this thread.
  static bool active();

 private:
  bool previous_;
};

}  // namespace uprez
