#pragma once
// The train stage's batch sources: a layer's inputs either held in memory or computed
// batch by batch from the last inputs held, through the frozen layers since.
#include <cstdint>
#include <string>
#include <vector>

#include "hebbkit/batch_source.hpp"
#include "hebbkit/rule.hpp"

namespace hebbkit::stages {

/// Rows of `base` passed through `through` (trained layers, bottom first) on demand.
class StreamedSource final : public BatchSource {
 public:
  StreamedSource(torch::Tensor base, torch::Tensor labels, std::vector<Rule*> through, std::int64_t eval_batch);
  std::int64_t size() const override { return base_.size(0); }
  std::vector<std::int64_t> sample_shape() const override { return sample_shape_; }
  const torch::Tensor& labels() const override { return labels_; }
  torch::Tensor rows(const torch::Tensor& index) override { return pass(base_.index_select(0, index)); }
  bool precomputed() const override { return false; }
  torch::Tensor all() override;

 private:
  torch::Tensor pass(torch::Tensor x) const;

  torch::Tensor base_, labels_;
  std::vector<Rule*> through_;
  std::int64_t eval_batch_;
  std::vector<std::int64_t> sample_shape_;
};

/// How the train stage holds layer inputs (the stage's `layer_inputs` key).
enum class InputsMode { Auto, Memory, Stream };
InputsMode inputs_mode(const std::string& name);

/// Bytes that `rows` rows of `sample_shape` floats take.
double bytes_of(std::int64_t rows, const std::vector<std::int64_t>& sample_shape);

}  // namespace hebbkit::stages
