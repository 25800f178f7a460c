#include "core/caching_cpu_allocator.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <list>
#include <mutex>
#include <string>

#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

namespace uprez {

namespace caching_cpu_allocator {

constexpr size_t kSmallest = size_t{1} << 20;  // blocks below this are not cached
constexpr size_t kHeader = 64;                  // in front of each block: its rounded size; keeps 64-byte alignment

// `bytes` rounded up to a multiple of 1/16 of its power of two (at most 1/16 wasted).
size_t rounded_size(size_t bytes) {
  size_t power = kSmallest;
  while (power < bytes) power <<= 1;
  const size_t step = power / 16;
  return (bytes + step - 1) / step * step;
}

size_t default_cap_bytes() {
  if (const char* text = std::getenv("UPREZ_CPU_CACHE_MB")) {
    const std::string value(text);
    if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos && value.size() < 9)
      return static_cast<size_t>(std::stoul(value)) << 20;
  }
  const long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
  const size_t physical = pages > 0 && page_size > 0 ? static_cast<size_t>(pages) * page_size : 0;
  return std::min(physical / 4, size_t{4} << 30);
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  CachingCpuAllocator() : cap_(default_cap_bytes()) {}

  // Every block has the header (raw_deleter() must free any of them, as LibTorch's oneDNN tensors do), small ones
  // are just not cached.
  c10::DataPtr allocate(size_t bytes) const override {
    const size_t size = bytes < kSmallest ? bytes : rounded_size(bytes);
    void* data = bytes < kSmallest ? nullptr : take_cached(size);
    if (data == nullptr) data = allocate_new(size);
    return {data, data, &release, c10::Device(c10::DeviceType::CPU)};
  }

  c10::DeleterFnPtr raw_deleter() const override { return &release; }

  size_t cached_bytes() const {
    const std::lock_guard<std::mutex> lock(mutex_);
    return cached_bytes_;
  }

  // A new cap, evicting what lies beyond it.
  void set_cap(size_t bytes) {
    std::list<Block> evicted;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      cap_ = bytes;
      while (cached_bytes_ > cap_) {
        cached_bytes_ -= cache_.back().size;
        evicted.splice(evicted.end(), cache_, std::prev(cache_.end()));
      }
    }
    for (const Block& block : evicted) std::free(block.base);
  }

  void release_all() const {
    std::list<Block> blocks;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      blocks.swap(cache_);
      cached_bytes_ = 0;
    }
    for (const Block& block : blocks) std::free(block.base);
  }

 private:
  struct Block {
    size_t size;
    void* base;
  };

  static size_t& size_of(void* base) { return *static_cast<size_t*>(base); }

  // The most recently cached block of `size`, or nullptr.
  void* take_cached(size_t size) const {
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto found =
        std::find_if(cache_.begin(), cache_.end(), [size](const Block& block) { return block.size == size; });
    if (found == cache_.end()) return nullptr;
    void* base = found->base;
    cached_bytes_ -= size;
    cache_.erase(found);
    return static_cast<char*>(base) + kHeader;
  }

  void* allocate_new(size_t size) const {
    void* base = nullptr;
    if (posix_memalign(&base, kHeader, size + kHeader) != 0) {
      release_all();  // the cache may hold what is missing
      if (posix_memalign(&base, kHeader, size + kHeader) != 0)
        TORCH_CHECK(false, "CachingCpuAllocator: not enough memory: you tried to allocate ", size, " bytes.");
    }
    size_of(base) = size;
    return static_cast<char*>(base) + kHeader;
  }

  // Caches a freed block (newest first), dropping the least recently cached ones beyond the cap.
  void cache(void* base) const {
    const size_t size = size_of(base);
    std::list<Block> evicted;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      if (size < kSmallest || size > cap_) {  // cap_ is read under the mutex (set_cap)
        evicted.push_back({size, base});
      } else {
        cache_.push_front({size, base});
        cached_bytes_ += size;
        while (cached_bytes_ > cap_) {
          cached_bytes_ -= cache_.back().size;
          evicted.splice(evicted.end(), cache_, std::prev(cache_.end()));
        }
      }
    }
    for (const Block& block : evicted) std::free(block.base);
  }

  static void release(void* data);

  size_t cap_;
  mutable std::mutex mutex_;
  mutable std::list<Block> cache_;
  mutable size_t cached_bytes_ = 0;
};

// Never destroyed: tensors may be freed during static destruction.
CachingCpuAllocator* installed = nullptr;

void CachingCpuAllocator::release(void* data) { installed->cache(static_cast<char*>(data) - kHeader); }

}  // namespace caching_cpu_allocator

void install_caching_cpu_allocator() {
  static std::once_flag once;
  std::call_once(once, [] {
    caching_cpu_allocator::installed = new caching_cpu_allocator::CachingCpuAllocator();
    c10::SetCPUAllocator(caching_cpu_allocator::installed, /*priority=*/1);
  });
}

size_t cached_cpu_bytes() { return caching_cpu_allocator::installed ? caching_cpu_allocator::installed->cached_bytes() : 0; }

void release_cached_cpu_memory() {
  if (caching_cpu_allocator::installed) caching_cpu_allocator::installed->release_all();
}

void limit_cached_cpu_memory(size_t bytes) {
  if (caching_cpu_allocator::installed && !std::getenv("UPREZ_CPU_CACHE_MB"))
    caching_cpu_allocator::installed->set_cap(bytes);
}

}  // namespace uprez
