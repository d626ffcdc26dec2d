#include "ff_objective.hpp"

#include <algorithm>
#include <cmath>

#include <ATen/Parallel.h>
#include <hebbkit/vector_clones.hpp>
#include <torch/types.h>

namespace hebbkit::ff {

namespace {

// Scoring runs these label after label on (1000, width) blocks: each replaces the four or
// five passes torch would make over the block (shift, scale, ReLU, then a norm for the
// goodness and one for the next layer's input) by one, which is what keeps scoring near
// its GEMMs (issue 11). Sums of squares in 16 lanes so that the loop vectorises without
// reassociating floats behind the compiler's back.
constexpr int lanes = 16;

// out[j] = max(pre(j), 0) for j < n; returns the sum of out[j]^2.
template <class Pre>
inline float relu_row_body(Pre pre, float* __restrict out, std::int64_t n) {
  float acc[lanes] = {};
  std::int64_t j = 0;
  for (; j + lanes <= n; j += lanes)
    for (int l = 0; l < lanes; ++l) {
      const float v = std::max(pre(j + l), 0.0f);
      out[j + l] = v;
      acc[l] += v * v;
    }
  float sum = 0;
  for (; j < n; ++j) {
    const float v = std::max(pre(j), 0.0f);
    out[j] = v;
    sum += v * v;
  }
  for (int l = 0; l < lanes; ++l) sum += acc[l];
  return sum;
}

// target_clones does not take templates: one clone set per pre-activation, the body inlined.
// The first layer's label c: out[j] = max(in[j] + coef * column[j], 0).
HEBBKIT_VECTOR_CLONES float shifted_relu_row(const float* __restrict in, float coef, const float* __restrict column,
                                             float* __restrict out, std::int64_t n) {
  return relu_row_body([&](std::int64_t j) { return in[j] + coef * column[j]; }, out, n);
}

// A layer above: z[j] = max(z[j] * scale + bias[j], 0) in place.
HEBBKIT_VECTOR_CLONES float scaled_relu_row(float* z, float scale, const float* __restrict bias, std::int64_t n) {
  return relu_row_body([&](std::int64_t j) { return z[j] * scale + bias[j]; }, z, n);
}

// Where the one-pass loops apply: plain float tensors on the CPU, no graph to record.
bool one_pass(std::initializer_list<const torch::Tensor*> tensors) {
  if (torch::GradMode::is_enabled()) return false;
  for (const auto* t : tensors)
    if (!t->device().is_cpu() || t->scalar_type() != torch::kFloat32) return false;
  return true;
}

std::int64_t rows_per_task(std::int64_t width) { return std::max<std::int64_t>(1, 32768 / std::max<std::int64_t>(width, 1)); }

}  // namespace

torch::Tensor direction(const torch::Tensor& x) { return x / (x.norm(2, {1}, true) + 1e-6); }

torch::Tensor goodness(const torch::Tensor& activities) { return activities.pow(2).mean(1); }

torch::Tensor loss(const torch::Tensor& g_pos, const torch::Tensor& g_neg, double theta) {
  return torch::cat({torch::softplus(theta - g_pos), torch::softplus(g_neg - theta)}).mean();
}

StepResult train_step(torch::nn::Linear& layer, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                      std::int64_t positives, double theta) {
  LayerObjective objective;
  objective.theta = theta;
  return train_step(layer, optimizer, x, positives, objective, nullptr);
}

StepResult train_step(torch::nn::Linear& layer, torch::optim::Optimizer& optimizer, const torch::Tensor& x,
                      std::int64_t positives, const LayerObjective& objective, torch::Tensor* running_mean,
                      torch::Tensor* activity, const Shard* shard) {
  torch::NoGradGuard no_grad;
  auto& weight = layer->weight;
  auto& bias = layer->bias;
  // The loss is a mean over the global minibatch's rows: a shard's gradients are its part.
  const std::int64_t rows = shard ? 2 * shard->global_positives : x.size(0), width = weight.size(0);
  const std::int64_t all_positives = shard ? shard->global_positives : positives;
  // The input's normalisation as a row scale of the product: direction(x) * input_scale.
  const auto row_scale = (x.norm(2, {1}, true) + 1e-6).reciprocal_().mul_(objective.input_scale);
  // a = relu(row_scale (x W^T) + b), computed in place in the product's buffer.
  auto a = torch::mm(x, weight.t());
  a.mul_(row_scale).add_(bias).relu_();
  if (activity) *activity = a.clone();
  const double per = objective.sum_goodness ? 1.0 : static_cast<double>(width);
  const double threshold = objective.sum_goodness ? objective.theta * static_cast<double>(width) : objective.theta;
  const auto g = a.norm(2, {1}).square_().div_(per);
  const auto g_pos = g.slice(0, 0, positives), g_neg = g.slice(0, positives);
  const auto s = torch::cat({threshold - g_pos, g_neg - threshold});
  StepResult result;
  if (shard) {
    // The global minibatch's sums, for the metrics; all-reduced with the gradients below.
    result.loss = torch::softplus(s).sum().item<double>();
  } else {
    result.loss = torch::softplus(s).mean().item<double>();
  }
  result.goodness_pos = g_pos.sum().item<double>();
  result.goodness_neg = g_neg.sum().item<double>();
  // d loss / d g = -sigmoid(s) / rows for positives, +sigmoid(s) / rows for negatives;
  // d g / d a = 2 a / per, and a is already zero where the ReLU is off.
  auto coef = torch::sigmoid(s).mul_(2.0 / (static_cast<double>(rows) * per));
  coef.slice(0, 0, positives).neg_();
  torch::Tensor peer_grad;
  if (objective.peer_weight > 0 && running_mean != nullptr && all_positives > 0) {
    // R = momentum R_old + (1 - momentum) mean_pos(a); loss = mean_j (mean(R) - R_j)^2,
    // so d loss / d a_ij = (2 / width) (R_j - mean(R)) (1 - momentum) / positives on positive rows.
    const double m = objective.peer_momentum;
    torch::Tensor mean_pos;
    if (shard) {
      std::vector<torch::Tensor> sum = {a.slice(0, 0, positives).sum(0)};
      shard->world.all_reduce_sum(sum);
      mean_pos = sum[0].div_(static_cast<double>(all_positives));
    } else {
      mean_pos = a.slice(0, 0, positives).mean(0);
    }
    auto r = running_mean->mul(m).add_(mean_pos, 1.0 - m);
    const auto centred = r - r.mean();
    result.peer_loss = centred.square().mean().item<double>();
    peer_grad = centred.mul(objective.peer_weight * 2.0 * (1.0 - m) /
                            (static_cast<double>(width) * static_cast<double>(all_positives)));
    *running_mean = r;
  }
  const auto active = peer_grad.defined() && !objective.full_relu_grad ? a.slice(0, 0, positives).gt(0) : torch::Tensor();
  auto& dz = a.mul_(coef.unsqueeze(1));
  if (peer_grad.defined()) {
    auto top = dz.slice(0, 0, positives);
    if (active.defined()) top.add_(peer_grad.unsqueeze(0) * active);
    else top.add_(peer_grad.unsqueeze(0));
  }
  bias.mutable_grad() = dz.sum(0);
  weight.mutable_grad() = torch::mm(dz.mul_(row_scale).t(), x);
  if (shard) {
    std::vector<torch::Tensor> sums = {weight.mutable_grad(), bias.mutable_grad(),
                                       torch::tensor({result.loss, result.goodness_pos, result.goodness_neg},
                                                     torch::kFloat64)};
    shard->world.all_reduce_sum(sums);
    result.loss = sums[2][0].item<double>() / static_cast<double>(rows);
    result.goodness_pos = sums[2][1].item<double>();
    result.goodness_neg = sums[2][2].item<double>();
  }
  optimizer.step();
  return result;
}

void first_layer_overlaid(torch::nn::Linear& layer, const torch::Tensor& x, std::int64_t num_classes,
                          const std::function<void(std::int64_t, Activity)>& each, double input_scale) {
  const auto& weight = layer->weight;
  const auto rest = x.slice(1, num_classes);
  const auto value = x.max().detach();  // what overlay_label writes
  const auto row_scale = input_scale / ((rest.pow(2).sum(1, true) + value * value).sqrt() + 1e-6);
  const auto shared = (torch::mm(rest, weight.slice(1, num_classes).t()) * row_scale + layer->bias).contiguous();
  const auto label_scale = (value * row_scale).squeeze(1).contiguous();  // (N)
  if (!one_pass({&shared, &weight})) {
    for (std::int64_t c = 0; c < num_classes; ++c) {
      auto z = torch::relu(torch::addr(shared, label_scale, weight.select(1, c)));  // shared + label_scale (x) column c
      auto squared = z.pow(2).sum(1);
      each(c, {std::move(z), std::move(squared)});
    }
    return;
  }
  const std::int64_t rows = shared.size(0), width = shared.size(1);
  for (std::int64_t c = 0; c < num_classes; ++c) {
    const auto column = weight.select(1, c).contiguous();
    auto z = torch::empty_like(shared);
    auto squared = torch::empty({rows}, shared.options());
    const float *in = shared.data_ptr<float>(), *col = column.data_ptr<float>(), *coef = label_scale.data_ptr<float>();
    float *out = z.data_ptr<float>(), *sq = squared.data_ptr<float>();
    at::parallel_for(0, rows, rows_per_task(width), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i)
        sq[i] = shifted_relu_row(in + i * width, coef[i], col, out + i * width, width);
    });
    each(c, {std::move(z), std::move(squared)});
  }
}

Activity activity(torch::nn::Linear& layer, const Activity& x, double input_scale) {
  auto z = torch::mm(x.value, layer->weight.t());
  if (!one_pass({&z, &layer->bias})) {
    // Under autograd from the norm, whose gradient at an all-zero row is 0 (sqrt's is not).
    z = torch::relu(z * (input_scale / (x.value.norm(2, {1}, true) + 1e-6)) + layer->bias);
    auto squared = z.pow(2).sum(1);
    return {std::move(z), std::move(squared)};
  }
  const auto squared_in = x.squared_norm.defined() ? x.squared_norm : x.value.pow(2).sum(1);
  const auto row_scale = (input_scale / (squared_in.sqrt() + 1e-6)).contiguous();
  const auto bias = layer->bias.contiguous();
  const std::int64_t rows = z.size(0), width = z.size(1);
  auto squared = torch::empty({rows}, z.options());
  float *out = z.data_ptr<float>(), *sq = squared.data_ptr<float>();
  const float *scale = row_scale.data_ptr<float>(), *b = bias.data_ptr<float>();
  at::parallel_for(0, rows, rows_per_task(width), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) sq[i] = scaled_relu_row(out + i * width, scale[i], b, width);
  });
  return {std::move(z), std::move(squared)};
}

torch::Tensor activity(torch::nn::Linear& layer, const torch::Tensor& x, double input_scale) {
  return activity(layer, Activity{x, {}}, input_scale).value;
}

void gather_batch(const torch::Tensor& positive, const torch::Tensor& negative, const torch::Tensor& index,
                  torch::Tensor& out) {
  const std::int64_t n = index.size(0);
  if (!out.defined() || out.size(0) != 2 * n || out.size(1) != positive.size(1) || out.dtype() != positive.dtype() ||
      out.device() != positive.device())
    out = torch::empty({2 * n, positive.size(1)}, positive.options());
  auto first = out.slice(0, 0, n), second = out.slice(0, n);
  torch::index_select_out(first, positive, 0, index);
  torch::index_select_out(second, negative, 0, index);
}

}  // namespace hebbkit::ff
