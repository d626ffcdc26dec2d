// The Krotov-Hopfield paper's classifier: h = relu(x)^n on the frozen features,
// c = tanh(beta S h), loss sum_c |c - t|^m with t in {-1, +1}, Adam with decaying lr.
#include <cmath>

#include <hebbkit/hebbkit.hpp>
#include <torch/types.h>

namespace {

class KrotovHead final : public hebbkit::FeatureHead {
 public:
  static constexpr const char* name = "krotov";
  static constexpr const char* summary = "tanh(beta S relu(x)^n) with |c - t|^m loss (Krotov & Hopfield 2019)";
  struct Config {
    double n = hebbkit::param("n", 4.5, "power of the rectified features").at_least(0);
    double m = hebbkit::param("m", 6.0, "power of the loss |c - t|^m").at_least(1);
    double beta = hebbkit::param("beta", 0.01, "inverse temperature inside tanh").at_least(0);
    std::int64_t epochs = hebbkit::param("epochs", 300, "passes over the training features").at_least(1);
    std::int64_t batch = hebbkit::param("batch", 100, "minibatch size").at_least(1);
    hebbkit::OptimizerParams optimizer{hebbkit::OptimizerDefaults().lr_decay(0.99)};
  };

  explicit KrotovHead(const Config& config) : c_(config) {}

  void fit(const hebbkit::HeadFit& data, hebbkit::RunContext& ctx) override {
    // relu(x)^n is fixed, so it is computed once for the whole training set.
    const auto h = activate(data.features);
    const auto h_val = data.val_features.defined() ? activate(data.val_features) : torch::Tensor();
    classes_ = torch::randn({data.num_classes, h.size(1)}, h.options()).mul_(0.01).requires_grad_(true);
    const auto loss = [this](const torch::Tensor& c, const torch::Tensor& labels) { return this->loss(c, labels).mean(); };
    hebbkit::ClassifierTraining training{
        "krotov head", c_.epochs, c_.batch, c_.optimizer,
        fmt::format("relu(x)^{} overflows unless the inputs are centred and unit-normalised "
                    "(dataset.preprocess: [flatten, center, unit_norm])",
                    c_.n)};
    training.closed_form = [this](const hebbkit::RowSelection& hb, const torch::Tensor& labels) {
      return closed_form_step(hb, labels);
    };
    hebbkit::fit_classifier({classes_}, [this](const torch::Tensor& hb) { return classify(hb); }, loss, h, data.labels,
                            h_val, data.val_labels, training, ctx);
  }

  torch::Tensor logits_from_features(const torch::Tensor& features) override { return classify(activate(features)); }

  std::string why_not_data_parallel() const override { return ""; }  // fit_classifier

  std::vector<hebbkit::NamedTensor> state() const override { return {{"S", classes_}}; }

  void load_state(const std::vector<hebbkit::NamedTensor>& state) override {
    const auto& s = hebbkit::find_state(state, "S");
    if (s.dim() != 2) throw hebbkit::DataError(fmt::format("krotov head S has shape {}, expected (classes, features)",
                                                           fmt::join(s.sizes(), "x")));
    classes_ = s.clone().requires_grad_(true);
  }

  std::vector<torch::Tensor> parameters() override { return {classes_}; }

  // sum_c |c - t|^m.
  torch::Tensor loss(const torch::Tensor& c, const torch::Tensor& labels) override {
    return (c - targets_of(c, labels)).abs().pow(c_.m).sum(1);
  }

 private:
  // c = tanh(beta S h), L = mean_b sum_c |c - t|^m:
  // dL/dS = beta [(m/B) |c - t|^(m-1) sign(c - t) (1 - c^2)]^T h.
  hebbkit::ClosedFormStep closed_form_step(const hebbkit::RowSelection& rows, const torch::Tensor& labels) const {
    const auto z = hebbkit::narrow_linear(rows, classes_);
    if (z.device().is_cpu() && z.scalar_type() == torch::kFloat32) return closed_form_rows<float>(rows, z, labels);
    if (z.device().is_cpu() && z.scalar_type() == torch::kFloat64) return closed_form_rows<double>(rows, z, labels);
    const auto h = rows.gathered();
    const auto c = torch::tanh(c_.beta * z);
    const auto d = c - targets_of(c, labels);
    const auto d_abs = d.abs();
    const auto loss = d_abs.pow(c_.m).sum(1).mean();
    const auto dz = d_abs.pow(c_.m - 1).mul_(d.sign()).mul_(1 - c * c).mul_(c_.beta * c_.m / static_cast<double>(h.size(0)));
    return {c, loss, {torch::mm(dz.t(), h)}};
  }

  // The same formulas one row at a time on z = S h (the tensor way is a dozen small ops per
  // minibatch, each a dispatch and a pass), counting the rows whose first argmax is the label.
  template <typename T>
  hebbkit::ClosedFormStep closed_form_rows(const hebbkit::RowSelection& h, const torch::Tensor& z,
                                           const torch::Tensor& labels_in) const {
    const auto labels = labels_in.to(torch::kInt64).contiguous();
    auto c = torch::empty_like(z), dz = torch::empty_like(z);
    const std::int64_t rows = z.size(0), classes = z.size(1);
    const T* zp = z.data_ptr<T>();
    const std::int64_t* yp = labels.data_ptr<std::int64_t>();
    T* cp = c.data_ptr<T>();
    T* dp = dz.data_ptr<T>();
    const T beta = static_cast<T>(c_.beta), m = static_cast<T>(c_.m), scale = static_cast<T>(c_.beta * c_.m / rows);
    // |d|^(m-1) by multiplication when m is a whole number (the paper's 6): std::pow on every
    // element cost as much as the minibatch's GEMMs.
    const int whole = c_.m == std::floor(c_.m) && c_.m <= 32 ? static_cast<int>(c_.m) - 1 : -1;
    const auto power_m1 = [&](T a) {
      if (whole < 0) return std::pow(a, m - 1);
      T out = 1;
      for (int i = 0; i < whole; ++i) out *= a;
      return out;
    };
    double loss = 0;
    std::int64_t correct = 0;
    for (std::int64_t r = 0; r < rows; ++r) {
      const std::int64_t label = yp[r];
      if (label < 0 || label >= classes)
        throw hebbkit::DataError(fmt::format("krotov head: label {} is not one of {} classes", label, classes));
      std::int64_t best = 0;
      for (std::int64_t k = 0; k < classes; ++k) {
        const std::int64_t i = r * classes + k;
        const T ck = cp[i] = std::tanh(beta * zp[i]);
        const T d = ck - (k == label ? T(1) : T(-1)), ad = std::abs(d);
        const T ad_m1 = power_m1(ad);
        loss += static_cast<double>(ad_m1 * ad);
        dp[i] = ad_m1 * static_cast<T>((d > 0) - (d < 0)) * (1 - ck * ck) * scale;
        if (ck > cp[r * classes + best]) best = k;
      }
      correct += best == label;
    }
    return {c, torch::scalar_tensor(loss / static_cast<double>(rows), z.options()),
            {hebbkit::narrow_linear_weight_gradient(dz, h)}, correct};
  }

  // +1 for the true class, -1 for the others.
  static torch::Tensor targets_of(const torch::Tensor& c, const torch::Tensor& labels) {
    return torch::full_like(c, -1.0).scatter_(1, labels.unsqueeze(1), 1.0);
  }

  torch::Tensor activate(const torch::Tensor& features) const { return torch::relu(features.flatten(1)).pow(c_.n); }
  torch::Tensor classify(const torch::Tensor& h) const { return torch::tanh(c_.beta * torch::mm(h, classes_.t())); }

  Config c_;
  torch::Tensor classes_;
};

}  // namespace

HEBBKIT_PLUGIN(KrotovHead)
