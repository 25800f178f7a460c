// The Image constructor's validation and allocation.
#include "image/image.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "image/image_limits.h"

namespace uprez {
namespace image_test {

TEST(Image, AllocatesZeroedSamples) {
  Image image(7, 5, 3, 16);
  EXPECT_EQ(image.row_bytes(), 7u * 3 * 2);
  EXPECT_EQ(image.data.size(), 7u * 3 * 2 * 5);
  for (uint8_t b : image.data) ASSERT_EQ(b, 0);
  EXPECT_FALSE(image.has_alpha());
  EXPECT_EQ(Image(1, 1, 4, 8).color_channels(), 3);
}

TEST(Image, RejectsBadShapes) {
  EXPECT_THROW(Image(0, 5, 3, 8), Error);
  EXPECT_THROW(Image(5, -1, 3, 8), Error);
  EXPECT_THROW(Image(kMaxImageDimension + 1, 1, 1, 8), Error);
  EXPECT_THROW(Image(5, 5, 0, 8), Error);
  EXPECT_THROW(Image(5, 5, 5, 8), Error);
  EXPECT_THROW(Image(5, 5, 3, 12), Error);
  // Within the per-side limit but over the byte limit: rejected without allocating.
  EXPECT_THROW(Image(kMaxImageDimension, kMaxImageDimension, 4, 16), Error);
  EXPECT_NO_THROW(Image(kMaxImageDimension, 1, 4, 16));
}

TEST(Image, ErrorMessageIsOneLineWithTheSize) {
  try {
    Image(70000, 3, 3, 8);
    FAIL();
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("70000x3"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
}

}  // namespace image_test
}  // namespace uprez
