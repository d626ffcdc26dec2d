#pragma once
// The model as the host assembles it: preprocessing, the layers, the head.
#include <vector>

#include "hebbkit/encoder.hpp"
#include "hebbkit/head.hpp"
#include "pipeline/data_prep.hpp"

namespace hebbkit::pipeline {

class StackEncoder final : public Encoder {
 public:
  StackEncoder(const Preprocessor& preprocessor, std::vector<Rule*> layers)
      : preprocessor_(preprocessor), layers_(std::move(layers)) {}
  torch::Tensor prepare(const torch::Tensor& images) override { return preprocessor_.apply(images); }
  torch::Tensor forward_prepared(const torch::Tensor& x) override {
    torch::Tensor h = x;
    for (Rule* layer : layers_) h = layer->forward(h);
    return h;
  }
  std::size_t layer_count() const override { return layers_.size(); }
  Rule& layer(std::size_t index) override { return *layers_.at(index); }

 private:
  const Preprocessor& preprocessor_;
  std::vector<Rule*> layers_;
};

class StackClassifier final : public Classifier {
 public:
  StackClassifier(Encoder& encoder, Head& head) : encoder_(encoder), head_(head) {}
  torch::Tensor logits(const torch::Tensor& images) override { return head_.logits(images, encoder_); }

 private:
  Encoder& encoder_;
  Head& head_;
};

}  // namespace hebbkit::pipeline
