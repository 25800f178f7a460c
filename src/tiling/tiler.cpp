#include "tiling/tiler.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "core/error.h"

namespace uprez {

namespace tiler {

// Untiled output goes to the sink in bands of at most this many float32 values (64 MiB).
constexpr int64_t kWholeImageBandElements = int64_t(1) << 24;

torch::Tensor to_cpu_float(const torch::Tensor& tensor) {
  return tensor.to(torch::TensorOptions().device(torch::kCPU).dtype(torch::kFloat32));
}

// Runs `upscale` on the tile of `input` at `rows` x `columns` and checks that it returned
// (1, C', h * scale, w * scale); `channels` is C' as an earlier tile returned it, or -1 for the first tile.
torch::Tensor upscale_tile(const torch::Tensor& input, const TileSpan& rows, const TileSpan& columns, int scale,
                           int64_t channels, const TileFunction& upscale) {
  const torch::Tensor tile = input.narrow(2, rows.start, rows.length).narrow(3, columns.start, columns.length);
  torch::Tensor output = upscale(tile.contiguous());
  const int64_t height = static_cast<int64_t>(rows.length) * scale;
  const int64_t width = static_cast<int64_t>(columns.length) * scale;
  const bool shape_ok = output.defined() && output.dim() == 4 && output.size(0) == 1 && output.size(1) >= 1 &&
                        (channels < 0 || output.size(1) == channels) && output.size(2) == height &&
                        output.size(3) == width;
  if (!shape_ok) {
    std::ostringstream message;
    message << "scale: the model turned a tile of shape " << tile.sizes() << " into ";
    if (output.defined())
      message << "shape " << output.sizes();
    else
      message << "no tensor";
    message << ", expected [1, " << (channels < 0 ? std::string("C") : std::to_string(channels)) << ", " << height
            << ", " << width << "] at scale " << scale;
    throw Error(message.str());
  }
  return output;
}

void run_whole(const torch::Tensor& input, int scale, const TileFunction& upscale, const RowSink& sink) {
  const TileSpan rows{0, static_cast<int>(input.size(2))};
  const TileSpan columns{0, static_cast<int>(input.size(3))};
  const torch::Tensor output = upscale_tile(input, rows, columns, scale, -1, upscale)[0];
  const int64_t height = output.size(1);
  const int64_t rows_per_band = std::max<int64_t>(1, kWholeImageBandElements / (output.size(0) * output.size(2)));
  for (int64_t y = 0; y < height; y += rows_per_band)
    sink(static_cast<int>(y), to_cpu_float(output.narrow(1, y, std::min(rows_per_band, height - y))));
}

torch::Tensor weight_tensor(const AxisTile& tile) {
  return torch::tensor(tile.weights, torch::TensorOptions().dtype(torch::kFloat32));
}

// The output rows of one row of tiles, accumulated over the full output width: rows [origin, origin + capacity).
class Band {
 public:
  Band(int64_t channels, int64_t capacity, int64_t width) : rows_(torch::zeros({channels, capacity, width})) {}

  // Adds the weighted output (C', h, w) of the tile at `row` x `column`, restricted to where its weight is not 0.
  void add(const torch::Tensor& output, const AxisTile& row, const torch::Tensor& row_weights,
           const AxisTile& column, const torch::Tensor& column_weights, int scale) {
    const int64_t height = row_weights.size(0);
    const int64_t width = column_weights.size(0);
    const torch::Tensor weighted_output =
        to_cpu_float(output.narrow(1, row.weight_begin - static_cast<int64_t>(row.span.start) * scale, height)
                         .narrow(2, column.weight_begin - static_cast<int64_t>(column.span.start) * scale, width));
    rows_.narrow(1, row.weight_begin - origin_, height)
        .narrow(2, column.weight_begin, width)
        .addcmul_(weighted_output, torch::outer(row_weights, column_weights));
  }

  // Hands rows [origin, finished_end) to `sink` and moves the band down to start at finished_end, keeping the
  // partial sums of rows [finished_end, touched_end) that the next row of tiles adds to.
  void hand_over(int64_t finished_end, int64_t touched_end, const RowSink& sink) {
    const int64_t finished = finished_end - origin_;
    const int64_t carried = touched_end - finished_end;
    sink(static_cast<int>(origin_), rows_.narrow(1, 0, finished));
    if (carried > 0) rows_.narrow(1, 0, carried).copy_(rows_.narrow(1, finished, carried).clone());
    rows_.narrow(1, carried, rows_.size(1) - carried).zero_();
    origin_ = finished_end;
  }

 private:
  torch::Tensor rows_;
  int64_t origin_ = 0;
};

}  // namespace tiler

int count_tiles(int width, int height, const TileOptions& options) {
  validate_tile_options(options);
  return static_cast<int>(place_tiles(width, options).size() * place_tiles(height, options).size());
}

void run_tiled(const torch::Tensor& input, int scale, const TileOptions& options, const TileFunction& upscale,
               const RowSink& sink, const TileProgress& progress) {
  if (input.dim() != 4 || input.size(0) != 1 || input.size(1) < 1 || input.size(2) < 1 || input.size(3) < 1) {
    std::ostringstream message;
    message << "input must be a (1, C, H, W) image tensor, got shape " << input.sizes();
    throw Error(message.str());
  }
  if (scale < 1) throw Error("scale must be at least 1, got " + std::to_string(scale));
  const int height = static_cast<int>(input.size(2));
  const int width = static_cast<int>(input.size(3));
  const int total = count_tiles(width, height, options);

  torch::NoGradGuard no_grad;
  if (total == 1) {
    tiler::run_whole(input, scale, upscale, sink);
    if (progress) progress(1, 1);
    return;
  }

  const std::vector<AxisTile> rows = layout_axis(height, options, scale);
  const std::vector<AxisTile> columns = layout_axis(width, options, scale);
  std::vector<torch::Tensor> row_weights, column_weights;
  std::transform(rows.begin(), rows.end(), std::back_inserter(row_weights), tiler::weight_tensor);
  std::transform(columns.begin(), columns.end(), std::back_inserter(column_weights), tiler::weight_tensor);
  int64_t band_capacity = 0;
  for (const AxisTile& row : rows) band_capacity = std::max<int64_t>(band_capacity, row.weights.size());

  std::optional<tiler::Band> band;  // created when the first tile tells the output channel count
  int64_t channels = -1;
  int done = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < columns.size(); ++c) {
      const torch::Tensor output = tiler::upscale_tile(input, rows[r].span, columns[c].span, scale, channels, upscale)[0];
      if (!band) {
        channels = output.size(0);
        band.emplace(channels, band_capacity, static_cast<int64_t>(width) * scale);
      }
      band->add(output, rows[r], row_weights[r], columns[c], column_weights[c], scale);
      if (progress) progress(++done, total);
    }
    const int64_t finished_end = r + 1 < rows.size() ? rows[r + 1].weight_begin : static_cast<int64_t>(height) * scale;
    band->hand_over(finished_end, rows[r].weight_end(), sink);
  }
}

}  // namespace uprez
