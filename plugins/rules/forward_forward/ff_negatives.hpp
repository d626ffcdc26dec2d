#pragma once
// Forward-Forward's negative data: what each layer learns to give low goodness, drawn fresh
// every epoch. Supervised: the image with a wrong label written over it. Unsupervised:
// hybrids of two images under a blurred random mask. Another kind is one more Negatives.
#include <cstdint>
#include <memory>

#include <torch/types.h>

namespace hebbkit::ff {

/// The positive data and a source of negatives, as rows in the first layer's space.
class Negatives {
 public:
  virtual ~Negatives() = default;
  /// The training set as the stack sees it as positive data.
  virtual torch::Tensor positives() const = 0;
  /// One epoch's negatives, one per positive, in the same row order.
  virtual torch::Tensor draw() const = 0;
};

/// Supervised: positives carry their true label (overlay_label), negatives a wrong one.
std::unique_ptr<Negatives> wrong_label_negatives(torch::Tensor images, torch::Tensor labels, std::int64_t num_classes);
/// Unsupervised: positives are the images, negatives hybrid_negatives of them. images: (N, C, H, W).
std::unique_ptr<Negatives> hybrid_image_negatives(torch::Tensor images);

/// A label other than the true one for every sample, uniform over the other classes.
torch::Tensor wrong_labels(const torch::Tensor& labels, std::int64_t num_classes);

/// Separable Gaussian blur of (N, 1, H, W) with a `size` x `size` kernel, replicated edges.
torch::Tensor blur(const torch::Tensor& images, std::int64_t size, double sigma);

/// Hinton's hybrid-image masks: random bits blurred (kernel 5 / sigma 7, 7 / 14, 5 / 7)
/// and thresholded at 0.5: large regions of ones and zeros, (n, 1, height, width).
torch::Tensor hybrid_mask(std::int64_t n, std::int64_t height, std::int64_t width, torch::Device device);

/// Negative data for unsupervised FF: x * mask + x' * (1 - mask), x' another image of the
/// batch. images: (N, C, H, W).
torch::Tensor hybrid_negatives(const torch::Tensor& images);

}  // namespace hebbkit::ff
