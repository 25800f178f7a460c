#include "nn/onednn.h"

#include <algorithm>

#include <ATen/Parallel.h>

namespace uprez::onednn {

using dnnl::memory;

bool has_avx512_core() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto avx512 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
  return (isa & avx512) == avx512;
}

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

void prepare_threads() { at::internal::lazy_init_num_threads(); }

void* scratchpad(size_t bytes) {
  thread_local torch::Tensor buffer;
  if (!buffer.defined() || static_cast<size_t>(buffer.numel()) < bytes) {
    buffer = torch::Tensor();
    buffer = torch::empty({static_cast<int64_t>(std::max<size_t>(bytes, 1))}, torch::kUInt8);
  }
  return buffer.data_ptr();
}

memory::desc blocked_desc(int64_t n, int64_t c, int64_t h, int64_t w) {
  return memory::desc({n, c, h, w}, memory::data_type::f32, memory::format_tag::nChw16c);
}

bool plain_desc(const torch::Tensor& t, memory::desc& desc) {
  const memory::dims dims{t.size(0), t.size(1), t.size(2), t.size(3)};
  if (t.is_contiguous()) {
    desc = memory::desc(dims, memory::data_type::f32, memory::format_tag::nchw);
  } else if (t.is_contiguous(c10::MemoryFormat::ChannelsLast)) {
    desc = memory::desc(dims, memory::data_type::f32, memory::format_tag::nhwc);
  } else {
    return false;
  }
  return true;
}

void reorder(const memory::desc& from_desc, const void* from, const memory::desc& to_desc, void* to) {
  prepare_threads();
  memory source(from_desc, cpu_engine(), const_cast<void*>(from));
  memory destination(to_desc, cpu_engine(), to);
  dnnl::reorder(source, destination).execute(cpu_stream(), source, destination);
  cpu_stream().wait();
}

torch::Tensor blocked_storage(int64_t n, int64_t c, int64_t h, int64_t w) {
  return torch::empty({n, blocks_of(c), h, w, kBlock}, torch::TensorOptions().dtype(torch::kFloat));
}

}  // namespace uprez::onednn
