#include "hebbkit/batch_source.hpp"

#include <fmt/format.h>
#include <torch/types.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/training.hpp"

namespace hebbkit {

std::int64_t RowSelection::size() const { return index.defined() ? index.size(0) : source.size(0); }

torch::Tensor RowSelection::gathered() const {
  torch::NoGradGuard no_grad;
  return index.defined() ? source.index_select(0, index) : source;
}

BatchSource::~BatchSource() = default;

void BatchSource::for_each_batch(std::int64_t batch, bool shuffle, const std::function<void(const Batch&)>& fn) {
  const auto& all_labels = labels();
  for (const auto& idx : minibatches(size(), batch, shuffle, all_labels.device())) {
    torch::Tensor inputs;
    {
      torch::NoGradGuard no_grad;
      inputs = rows(idx);
    }
    fn(Batch{std::move(inputs), all_labels.index_select(0, idx), idx});
  }
}

TensorSource::TensorSource(torch::Tensor inputs, torch::Tensor labels)
    : inputs_(std::move(inputs)), labels_(std::move(labels)) {
  if (!inputs_.defined() || inputs_.dim() < 1 || !labels_.defined() || labels_.dim() != 1 ||
      labels_.size(0) != inputs_.size(0))
    throw DataError(fmt::format("TensorSource: inputs of {} rows need a 1-d label tensor of the same length",
                                inputs_.defined() && inputs_.dim() > 0 ? inputs_.size(0) : 0));
}

std::vector<std::int64_t> TensorSource::sample_shape() const {
  const auto sizes = inputs_.sizes();
  return {sizes.begin() + 1, sizes.end()};
}

}  // namespace hebbkit
