// The top layer's output taken as the logits, untouched: for rules that train their own
// classifier end to end (backprop), so that evaluation and attacks see that network's
// logits rather than a head retrained on its frozen features.
#include <hebbkit/hebbkit.hpp>
#include <torch/types.h>

namespace {

class Readout final : public hebbkit::FeatureHead {
 public:
  static constexpr const char* name = "readout";
  static constexpr const char* summary = "the top layer's outputs are the logits (no training): for backprop models";
  void fit(const hebbkit::HeadFit& data, hebbkit::RunContext& ctx) override {
    const auto width = data.features.flatten(1).size(1);
    if (width != data.num_classes)
      throw hebbkit::RecipeError(fmt::format(
          "head readout: the top layer gives {} outputs, but there are {} classes; readout needs a layer that ends in "
          "its own {}-way classifier (e.g. rule backprop), otherwise use a trained head (softmax)",
          width, data.num_classes, data.num_classes));
    classes_ = data.num_classes;
    ctx.info("the top layer's {} outputs are the logits", width);
  }

  torch::Tensor logits_from_features(const torch::Tensor& features) override { return features.flatten(1); }

  std::string why_not_data_parallel() const override { return ""; }  // it learns nothing

  std::vector<hebbkit::NamedTensor> state() const override {
    return {{"classes", torch::tensor({classes_}, torch::kInt64)}};
  }
  void load_state(const std::vector<hebbkit::NamedTensor>& state) override {
    classes_ = hebbkit::find_state(state, "classes").item<std::int64_t>();
  }

 private:
  std::int64_t classes_ = 0;
};

}  // namespace

HEBBKIT_PLUGIN(Readout)
