// Crop in its three forms (numpy-style slices, offsets with sizes, and a reference blob's size) on blobs of 1 to 4
// dims, against tensor slicing, with ncnn's special values and the errors for windows outside the input.
#include "ncnn/spatial_test_support.h"

namespace uprez::ncnn::test {
namespace crop_test {

using torch::indexing::None;
using torch::indexing::Slice;

TEST(NcnnCropTest, SlicesAsRealCuganWritesThem) {
  // starts 4, 4; ends -4, -4; axes -2, -1: the borders of height and width.
  const torch::Tensor input = random_blob({3, 20, 18});
  const auto layer = load_layer("Crop", "-23309=2,4,4 -23310=2,-4,-4 -23311=2,-2,-1");
  expect_close(run_one(*layer, input), input.index({Slice(), Slice(4, -4), Slice(4, -4)}), 0);
  // Real-CUGAN's x4 model slices its output with positive ends.
  const auto positive = load_layer("Crop", "-23309=2,4,4 -23310=2,12,10 -23311=2,1,2");
  expect_close(run_one(*positive, input), input.index({Slice(), Slice(4, 12), Slice(4, 10)}), 0);
}

TEST(NcnnCropTest, SlicesWithSpecialValuesAndDefaultAxes) {
  const torch::Tensor input = random_blob({6, 5, 7});
  // Without axes, slice i applies to dim i; -233 is the whole axis; an end of 0 means the axis's end; negative
  // starts count from the end; ends beyond the axis are capped.
  const auto layer = load_layer("Crop", "9=1,-233,-3 10=-233,0,100");
  expect_close(run_one(*layer, input), input.index({Slice(1, None), Slice(), Slice(4, None)}), 0);
  // A 4-D blob, slicing the depth axis (1) only.
  const torch::Tensor volume = random_blob({2, 6, 3, 4});
  expect_close(run_one(*load_layer("Crop", "9=2 10=5 11=1"), volume), volume.index({Slice(), Slice(2, 5)}), 0);
}

TEST(NcnnCropTest, OffsetsWithSizes) {
  const torch::Tensor input = random_blob({5, 8, 9});
  // woffset 2, hoffset 1, coffset 1; outw 4, outh -233 (as large as fits), outc 3.
  const auto layer = load_layer("Crop", "0=2 1=1 2=1 3=4 4=-233 5=3");
  expect_close(run_one(*layer, input), input.index({Slice(1, 4), Slice(1, None), Slice(2, 6)}), 0);
  // End offsets (6 woffset2, 7 hoffset2) leave pixels at the far ends; sizes of -233 take all that is left.
  const auto ends = load_layer("Crop", "0=1 1=1 3=-233 4=-233 5=-233 6=1 7=2");
  expect_close(run_one(*ends, input), input.index({Slice(), Slice(1, -2), Slice(1, -1)}), 0);
  // (h, w) blobs use the w and h params only.
  const torch::Tensor rows = random_blob({6, 7});
  expect_close(run_one(*load_layer("Crop", "0=3 1=2 2=5 3=2 4=3 5=9"), rows), rows.index({Slice(2, 5), Slice(3, 5)}),
               0);
}

TEST(NcnnCropTest, ToTheSizeOfAReferenceBlob) {
  // Real-CUGAN: "Crop 2 1 a b c 0=4 1=4" crops a to b's height and width at offset 4, 4.
  const torch::Tensor input = random_blob({4, 20, 22});
  const torch::Tensor reference = random_blob({4, 12, 13});
  const auto layer = load_layer("Crop", "0=4 1=4");
  torch::NoGradGuard no_grad;
  expect_close(run(*layer, {input, reference}), input.index({Slice(), Slice(4, 16), Slice(4, 17)}), 0);
  // A reference with other dims keeps the input's channels; one with the same dims sets them (from coffset).
  expect_close(run(*load_layer("Crop", "0=4 1=4"), {input, random_blob({12, 13})}),
               input.index({Slice(), Slice(4, 16), Slice(4, 17)}), 0);
  expect_close(run(*load_layer("Crop", "0=4 1=4 2=1"), {input, random_blob({2, 12, 13})}),
               input.index({Slice(1, 3), Slice(4, 16), Slice(4, 17)}), 0);
}

TEST(NcnnCropTest, WholeSizeWindowsReturnTheInputWhateverTheOffsets) {
  const torch::Tensor input = random_blob({2, 6, 6});
  torch::NoGradGuard no_grad;
  EXPECT_TRUE(run(*load_layer("Crop", "0=4 1=4"), {input, random_blob({2, 6, 6})}).is_same(input));
}

TEST(NcnnCropTest, RejectsWindowsOutsideTheInput) {
  const torch::Tensor input = random_blob({2, 6, 6});
  expect_layer_error([&] { run_one(*load_layer("Crop", "-23309=1,7 -23310=1,-233 -23311=1,2"), input); },
                     "window [7, 6) of dim 2 does not fit input (2, 6, 6)");
  expect_layer_error([&] { run_one(*load_layer("Crop", "1=7 3=-233 4=-233 5=-233"), input); },
                     "window [7, 6) of dim 1 does not fit input (2, 6, 6)");
  expect_layer_error([&] { run_one(*load_layer("Crop", "-23309=1,1 -23310=1,2 -23311=1,3"), input); },
                     "axis 3 is out of range for input (2, 6, 6)");
  expect_layer_error([&] { run_one(*load_layer("Crop", "9=1,1 10=2,2"), input); },
                     "needs a start and an end for each of 3 axes, has 2 and 2");
  expect_layer_error([&] { run_one(*load_layer("Crop", "0=1 1=1"), input); }, "expects 2 input blobs, got 1");
  expect_layer_error([] { load_layer("Crop", "0=-233"); }, "parameter 0: crop windows read from a blob");
}

}  // namespace crop_test
}  // namespace uprez::ncnn::test
