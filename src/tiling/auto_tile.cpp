#include "tiling/auto_tile.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <numeric>
#include <string>

#include "core/error.h"

namespace uprez {

namespace auto_tile {

constexpr int kSmallestAutoTile = 64;
constexpr int kLargestAutoTile = 2048;

// The number after the first word `key` in the text file at `path` (e.g. "MemAvailable:" in /proc/meminfo),
// or -1 when the file or key is missing. An empty key reads the file's first word.
int64_t read_number(const char* path, const std::string& key = "") {
  std::ifstream file(path);
  std::string word;
  int64_t number = 0;
  if (key.empty()) return file >> number ? number : -1;
  while (file >> word) {
    if (word == key) return file >> number ? number : -1;
    std::getline(file, word);
  }
  return -1;
}

int64_t cpu_available_bytes() {
  const int64_t available_kib = read_number("/proc/meminfo", "MemAvailable:");
  int64_t available = available_kib >= 0 ? available_kib * 1024
                                         : static_cast<int64_t>(sysconf(_SC_AVPHYS_PAGES)) * sysconf(_SC_PAGESIZE);
  // Inside a cgroup v2 memory limit ("max" when there is none, which reads as -1), page cache that the kernel
  // would reclaim (inactive_file) counts as available, as in `docker stats`.
  const int64_t limit = read_number("/sys/fs/cgroup/memory.max");
  const int64_t usage = read_number("/sys/fs/cgroup/memory.current");
  const int64_t reclaimable = std::max<int64_t>(read_number("/sys/fs/cgroup/memory.stat", "inactive_file"), 0);
  if (limit > 0 && usage >= 0) available = std::min(available, std::max<int64_t>(limit - usage + reclaimable, 0));
  return available;
}

// Free memory of CUDA device `index` through the driver API, or -1 when it cannot be queried. The driver is
// loaded at run time, so that this builds and runs against a CPU-only LibTorch.
int64_t cuda_free_bytes(int index) {
  static void* const driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
  if (driver == nullptr) return -1;
  using Result = int;  // CUresult: 0 is CUDA_SUCCESS
  using Context = void*;
  const auto init = reinterpret_cast<Result (*)(unsigned)>(dlsym(driver, "cuInit"));
  const auto get_device = reinterpret_cast<Result (*)(int*, int)>(dlsym(driver, "cuDeviceGet"));
  const auto retain = reinterpret_cast<Result (*)(Context*, int)>(dlsym(driver, "cuDevicePrimaryCtxRetain"));
  const auto release = reinterpret_cast<Result (*)(int)>(dlsym(driver, "cuDevicePrimaryCtxRelease_v2"));
  const auto push = reinterpret_cast<Result (*)(Context)>(dlsym(driver, "cuCtxPushCurrent_v2"));
  const auto pop = reinterpret_cast<Result (*)(Context*)>(dlsym(driver, "cuCtxPopCurrent_v2"));
  const auto memory_info = reinterpret_cast<Result (*)(size_t*, size_t*)>(dlsym(driver, "cuMemGetInfo_v2"));
  if (!init || !get_device || !retain || !release || !push || !pop || !memory_info) return -1;

  int device = 0;
  Context context = nullptr;
  if (init(0) != 0 || get_device(&device, index) != 0 || retain(&context, device) != 0) return -1;
  int64_t free_bytes = -1;
  if (push(context) == 0) {
    size_t free = 0;
    size_t total = 0;
    if (memory_info(&free, &total) == 0) free_bytes = static_cast<int64_t>(free);
    pop(&context);
  }
  release(device);
  return free_bytes;
}

}  // namespace auto_tile

int auto_tile_size(int64_t bytes_per_input_pixel, int64_t available_bytes, int multiple_of) {
  if (bytes_per_input_pixel < 1)
    throw Error("bytes_per_input_pixel must be at least 1, got " + std::to_string(bytes_per_input_pixel));
  if (multiple_of < 1) throw Error("multiple_of must be at least 1, got " + std::to_string(multiple_of));
  const int64_t step = std::lcm<int64_t>(8, multiple_of);
  const int64_t smallest = (std::max<int64_t>(auto_tile::kSmallestAutoTile, 2 * int64_t{multiple_of}) + step - 1) / step * step;
  if (smallest > auto_tile::kLargestAutoTile)
    throw Error("multiple_of " + std::to_string(multiple_of) + " is too large for an automatic tile size (over " +
                std::to_string(auto_tile::kLargestAutoTile) + " pixels); set the tile size explicitly");
  const double fitting = std::sqrt(static_cast<double>(std::max<int64_t>(available_bytes, 0)) / 2.0 /
                                   static_cast<double>(bytes_per_input_pixel));
  const int64_t largest_fitting =
      static_cast<int64_t>(std::min(fitting, static_cast<double>(auto_tile::kLargestAutoTile))) / step * step;
  return static_cast<int>(std::max(largest_fitting, smallest));
}

int64_t available_memory_bytes(const torch::Device& device) {
  if (device.is_cuda()) {
    const int64_t free_bytes = auto_tile::cuda_free_bytes(device.has_index() ? device.index() : 0);
    if (free_bytes >= 0) return free_bytes;
  }
  return auto_tile::cpu_available_bytes();
}

}  // namespace uprez
