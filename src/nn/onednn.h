// oneDNN on the CPU for the kernels of this floor: the engine, a stream per thread, per-thread scratch memory, the
// 16-channel blocked layout (nChw16c) and layout reorders.
#pragma once

#include <cstddef>
#include <cstdint>

#include <oneapi/dnnl/dnnl.hpp>
#include <torch/torch.h>

namespace uprez::onednn {

using Tag = dnnl::memory::format_tag;
using Dt = dnnl::memory::data_type;

constexpr int64_t kBlock = 16;  // nChw16c

inline int64_t blocks_of(int64_t channels) { return (channels + kBlock - 1) / kBlock; }

// Whether oneDNN runs AVX-512 kernels on this CPU (ONEDNN_MAX_CPU_ISA may hold it lower). oneDNN 2.6 has f32
// Winograd, and direct kernels for the 16-channel blocked layout, only there.
bool has_avx512_core();

dnnl::engine& cpu_engine();
// This thread's stream.
dnnl::stream& cpu_stream();

// oneDNN (OpenMP build, the same libgomp as LibTorch) runs omp_get_max_threads() threads of the calling thread,
// which at::set_num_threads sets; a thread that has not run a LibTorch parallel operation yet is initialised first.
void prepare_threads();

// Scratch memory for primitives (user-managed scratchpad: primitives stay shareable between threads), kept
// per thread so that Winograd's large transform buffers are not page-faulted in on every call.
void* scratchpad(size_t bytes);

// The nChw16c description of an (n, c, h, w) float map.
dnnl::memory::desc blocked_desc(int64_t n, int64_t c, int64_t h, int64_t w);

// The oneDNN description of a 4-D float tensor that is NCHW- or NHWC-contiguous; false for other strides.
bool plain_desc(const torch::Tensor& t, dnnl::memory::desc& desc);

// Copies `from` (laid out as from_desc) to `to` (as to_desc), waiting for the result.
void reorder(const dnnl::memory::desc& from_desc, const void* from, const dnnl::memory::desc& to_desc, void* to);

// Uninitialised storage for an (n, c, h, w) blocked map: a contiguous (n, ceil(c/16), h, w, 16) float tensor.
torch::Tensor blocked_storage(int64_t n, int64_t c, int64_t h, int64_t w);

}  // namespace uprez::onednn
