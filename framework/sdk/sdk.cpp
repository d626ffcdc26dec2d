// Key functions of the SDK's interfaces live here, in the framework's shared library, so
// that every plugin shares one vtable and typeinfo for each interface.
#include <torch/nn/functional/loss.h>
#include <torch/types.h>

#include "hebbkit/attack.hpp"
#include "hebbkit/context.hpp"
#include "hebbkit/dataset.hpp"
#include "hebbkit/encoder.hpp"
#include "hebbkit/head.hpp"
#include "hebbkit/plugin.hpp"
#include "hebbkit/progress.hpp"
#include "hebbkit/rule.hpp"
#include "hebbkit/training.hpp"
#include "hebbkit/collective.hpp"
#include "hebbkit/version.hpp"

namespace hebbkit {

Rule::~Rule() = default;

Head::~Head() = default;
Dataset::~Dataset() = default;
Attack::~Attack() = default;
Encoder::~Encoder() = default;
Classifier::~Classifier() = default;
RunContext::~RunContext() = default;
Collective& RunContext::collective() { return single_process(); }

torch::Tensor Classifier::loss(const torch::Tensor& logits, const torch::Tensor& labels) {
  return torch::nn::functional::cross_entropy(logits, labels,
                                              torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
}

torch::Tensor Head::loss(const torch::Tensor& logits, const torch::Tensor& labels) {
  return torch::nn::functional::cross_entropy(logits, labels,
                                              torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
}
Progress::~Progress() = default;

const char* version_string() { return HEBBKIT_VERSION_STRING; }

const char* to_string(PluginKind kind) {
  switch (kind) {
    case PluginKind::Rule: return "rule";
    case PluginKind::Head: return "head";
    case PluginKind::Dataset: return "dataset";
    case PluginKind::Attack: return "attack";
  }
  return "?";
}

}  // namespace hebbkit
