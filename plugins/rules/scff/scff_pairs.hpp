#pragma once
// SCFF's positive and negative data, built from each minibatch itself: a positive is an
// image beside a view of itself (or of the same image moved by a few pixels), a negative is
// an image beside a view of another image of the batch.
#include <cstdint>

#include <torch/types.h>

namespace hebbkit::scff {

/// Each image (N, C, H, W) moved by (dx[i], dy[i]) whole pixels, zeros shifted in: out[y][x]
/// = in[y - dy][x - dx]. dx, dy: (N) integers.
torch::Tensor translate_by(const torch::Tensor& images, const torch::Tensor& dx, const torch::Tensor& dy);
/// Each image moved by its own offsets round(U(-max_shift, max_shift)) in x and in y, drawn
/// from torch's generator: torchvision's RandomAffine(degrees=0, translate=(s/W, s/H)), which
/// the authors' MNIST code uses (s = 2).
torch::Tensor translate(const torch::Tensor& images, std::int64_t max_shift);

struct Pairs {
  torch::Tensor positive;  ///< (B, 2D): [a_j, b_j]
  torch::Tensor negative;  ///< (B, 2D): [a_j, b_(j + offset) mod B]
};
/// The pairs of two views a, b (B, D) of one batch of images.
Pairs make_pairs(const torch::Tensor& a, const torch::Tensor& b, std::int64_t offset);
/// The offset of a batch of `batch` rows (>= 2): uniform in [1, batch - 1], so that no image
/// meets its own view, from torch's generator.
std::int64_t draw_offset(std::int64_t batch);

/// Each image (N, C, H, W) mirrored left-right with probability 1/2, from torch's generator
/// (torchvision's RandomHorizontalFlip).
torch::Tensor random_flip(const torch::Tensor& images);

/// How the two views of a batch are made.
struct Views {
  std::int64_t max_shift = 2;  ///< 0: both views are the image itself
  bool standardize = true;     ///< each view standardised before pairing (the authors' pre_std)
  bool flip = false;           ///< first each image mirrored at random, the same for both views
  bool rows = true;            ///< views flattened to rows (dense layers); else kept (C, H, W)
};
/// A minibatch's pairs: two views of `images` (B, C, H, W), or of rows (B, D) when max_shift
/// is 0 and flip is off, (flattened and) standardised, paired by a drawn offset: along the
/// values of a row, or along the channels of images.
Pairs draw_pairs(const torch::Tensor& images, const Views& views);

}  // namespace hebbkit::scff
