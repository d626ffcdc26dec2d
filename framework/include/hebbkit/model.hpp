#pragma once
// The model a run trains, evaluates and attacks: preprocessing, the layers bottom first,
// and the head. The host builds a fresh one for every run from the recipe's parameters;
// the `train` stage trains it, or it is reopened from a finished run's model/ folder.
#include "hebbkit/export.hpp"
#include <cstddef>
#include <memory>
#include <vector>

#include <torch/types.h>

#include "hebbkit/encoder.hpp"
#include "hebbkit/head.hpp"
#include "hebbkit/preprocess.hpp"
#include "hebbkit/rule.hpp"

namespace hebbkit {

class HEBBKIT_API Model final : public Encoder, public Classifier {
 public:
  Model(Preprocessor preprocessor, std::vector<std::unique_ptr<Rule>> layers, std::unique_ptr<Head> head);

  torch::Tensor prepare(const torch::Tensor& images) override { return preprocessor_.apply(images); }
  torch::Tensor forward_prepared(const torch::Tensor& x) override;
  std::size_t layer_count() const override { return layers_.size(); }
  Rule& layer(std::size_t index) override { return *layers_.at(index); }
  /// Raw images in [0, 1] -> class logits, through every layer and the head.
  torch::Tensor logits(const torch::Tensor& images) override { return head_->logits(images, *this); }
  /// The head's own loss.
  torch::Tensor loss(const torch::Tensor& logits, const torch::Tensor& labels) override {
    return head_->loss(logits, labels);
  }

  Head& head() { return *head_; }
  Preprocessor& preprocessor() { return preprocessor_; }
  const Preprocessor& preprocessor() const { return preprocessor_; }
  /// Every layer's and the head's parameters(), bottom first: what end-to-end training updates.
  std::vector<torch::Tensor> parameters();

 private:
  Preprocessor preprocessor_;
  std::vector<std::unique_ptr<Rule>> layers_;
  std::unique_ptr<Head> head_;
};

}  // namespace hebbkit
