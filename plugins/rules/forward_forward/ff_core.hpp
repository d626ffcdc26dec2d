#pragma once
// Forward-Forward (Hinton 2022) building blocks: the goodness, the layer-local loss, and
// the negative data of the supervised and unsupervised variants.
#include <cstdint>

#include <torch/nn/modules/linear.h>
#include <torch/optim/optimizer.h>
#include <torch/types.h>

namespace hebbkit::ff {

/// x / (|x| + 1e-6) per row: only the direction of the layer below passes on.
torch::Tensor direction(const torch::Tensor& x);

/// Mean of squared activities per row.
torch::Tensor goodness(const torch::Tensor& activities);

/// mean over both sets of softplus(theta - g_pos) and softplus(g_neg - theta).
torch::Tensor loss(const torch::Tensor& g_pos, const torch::Tensor& g_neg, double theta);

struct StepResult {
  double loss = 0;          ///< mean loss of the batch
  double goodness_pos = 0;  ///< summed over the batch's positive samples
  double goodness_neg = 0;
};

/// One optimizer step of one layer on a batch of positive and negative inputs that are
/// already direction-normalised. Both go through the layer as one product.
StepResult train_step(torch::nn::Linear& layer, torch::optim::Optimizer& optimizer, const torch::Tensor& pos,
                      const torch::Tensor& neg, double theta);

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
