// Nearest-centroid head: predicts the class whose mean training feature is closest.
// Lives outside the hebbkit tree to prove that plugins build against the installed SDK.
#include <hebbkit/hebbkit.hpp>
#include <torch/types.h>

namespace {

class CentroidHead final : public hebbkit::FeatureHead {
 public:
  static constexpr const char* name = "centroid";
  static constexpr const char* summary = "nearest class mean of the features (out-of-tree example)";
  struct Config {
    double temperature = hebbkit::param("temperature", 1.0, "logits are -distance / temperature").at_least(1e-6);
  };
  explicit CentroidHead(const Config& c) : temperature_(c.temperature) {}

  void fit(const hebbkit::HeadFit& data, hebbkit::RunContext& ctx) override {
    const auto x = data.features.flatten(1);
    centroids_ = torch::zeros({data.num_classes, x.size(1)}, x.options());
    centroids_.index_add_(0, data.labels, x);
    centroids_ /= torch::bincount(data.labels, {}, data.num_classes).clamp_min(1).unsqueeze(1).to(x.dtype());
    ctx.info("fitted {} centroids of {} features", data.num_classes, x.size(1));
  }

  torch::Tensor logits_from_features(const torch::Tensor& features) override {
    return -torch::cdist(features.flatten(1), centroids_) / temperature_;
  }

  std::vector<hebbkit::NamedTensor> state() const override { return {{"centroids", centroids_}}; }
  void load_state(const std::vector<hebbkit::NamedTensor>& state) override {
    centroids_ = hebbkit::find_state(state, "centroids");
  }

 private:
  double temperature_;
  torch::Tensor centroids_;
};

}  // namespace

HEBBKIT_PLUGIN(CentroidHead)
