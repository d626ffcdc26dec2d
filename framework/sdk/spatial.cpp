#include "hebbkit/spatial.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/types.h>

#include "hebbkit/collective.hpp"
#include "hebbkit/errors.hpp"
#include "hebbkit/training.hpp"
#include "hebbkit/vector_clones.hpp"

namespace hebbkit {
namespace {

// "same" for one axis: total padding dilation * (kernel - 1), the odd one at the far side.
std::array<std::int64_t, 2> same_padding(std::int64_t kernel, std::int64_t dilation) {
  const std::int64_t total = dilation * (kernel - 1);
  return {total / 2, total - total / 2};
}

}  // namespace

Choices<PaddingMode> param_choices(PaddingMode) {
  return {{PaddingMode::Zeros, "zeros"}, {PaddingMode::Reflect, "reflect"}};
}

namespace {
// The pixels an integer `padding` adds on each side; -1 when it is no such integer.
long long padding_pixels(const std::string& padding) {
  char* end = nullptr;
  const long long value = std::strtoll(padding.c_str(), &end, 10);
  if (padding.empty() || *end != '\0' || value < 0 || value > 1'000'000) return -1;
  return value;
}
}  // namespace

ConvParams::ConvParams(std::int64_t default_kernel, PaddingMode default_padding_mode)
    : kernel(param("kernel", default_kernel, "kernel height and width").at_least(1)),
      stride(param("stride", 1, "step between patches").at_least(1)),
      dilation(param("dilation", 1, "spacing of a kernel's taps").at_least(1)),
      padding(param("padding", "0",
                    "pixels added on each side: an integer, 'valid' (0) or 'same' (output keeps the input's size; "
                    "stride 1)")),
      padding_mode(param("padding_mode", default_padding_mode,
                         "what the padding holds: zeros, or the image mirrored at its border")) {
  const Params* given = params_being_read();
  if (given == nullptr) return;
  if (padding == "same" && stride != 1)
    given->fail("padding", fmt::format("padding 'same' keeps the input's size, which a stride of {} cannot; give the "
                                       "padding as an integer", stride));
  if (padding != "same" && padding != "valid" && padding_pixels(padding) < 0)
    given->fail("padding", fmt::format("padding '{}' is not a number of pixels (0 or more), 'valid' or 'same'", padding));
}

ConvGeometry::ConvGeometry(const ConvParams& p) {
  kernel_h = kernel_w = p.kernel;
  stride_h = stride_w = p.stride;
  dilation_h = dilation_w = p.dilation;
  reflect = p.padding_mode == PaddingMode::Reflect;
  if (p.padding == "same") {
    const auto vertical = same_padding(kernel_h, dilation_h), horizontal = same_padding(kernel_w, dilation_w);
    pad_top = vertical[0], pad_bottom = vertical[1], pad_left = horizontal[0], pad_right = horizontal[1];
  } else if (p.padding != "valid") {
    const long long pixels = padding_pixels(p.padding);
    if (pixels < 0)
      throw RecipeError(fmt::format("padding '{}' is not a number of pixels (0 or more), 'valid' or 'same'", p.padding));
    pad_top = pad_bottom = pad_left = pad_right = pixels;
  }
}

std::array<std::int64_t, 2> ConvGeometry::output_size(std::int64_t h, std::int64_t w) const {
  const std::int64_t span_h = dilation_h * (kernel_h - 1) + 1, span_w = dilation_w * (kernel_w - 1) + 1;
  const std::int64_t ph = h + pad_top + pad_bottom, pw = w + pad_left + pad_right;
  if (ph < span_h || pw < span_w)
    throw DataError(fmt::format("a {} kernel does not fit an input of {}x{}", describe(), h, w));
  return {(ph - span_h) / stride_h + 1, (pw - span_w) / stride_w + 1};
}

torch::Tensor ConvGeometry::pad(const torch::Tensor& x) const {
  if (pad_top == 0 && pad_bottom == 0 && pad_left == 0 && pad_right == 0) return x;
  if (reflect) {
    if (std::max(pad_top, pad_bottom) >= x.size(2) || std::max(pad_left, pad_right) >= x.size(3))
      throw DataError(fmt::format("reflect padding of {} needs inputs larger than {}x{}", describe(), x.size(2), x.size(3)));
    return torch::reflection_pad2d(x, {pad_left, pad_right, pad_top, pad_bottom});
  }
  return torch::constant_pad_nd(x, {pad_left, pad_right, pad_top, pad_bottom}, 0.0);
}

namespace {
template <class scalar_t>
void gather_rows(const ConvGeometry& g, const scalar_t* xp, std::int64_t channels, std::int64_t hp, std::int64_t wp,
                 std::int64_t ho, std::int64_t wo, std::int64_t r0, std::int64_t r1, scalar_t* dst) {
  const std::int64_t per_image = ho * wo;
  for (std::int64_t r = r0; r < r1; ++r) {
    const std::int64_t b = r / per_image, l = r % per_image, y = (l / wo) * g.stride_h, x = (l % wo) * g.stride_w;
    for (std::int64_t c = 0; c < channels; ++c) {
      const scalar_t* plane = xp + (b * channels + c) * hp * wp;
      for (std::int64_t i = 0; i < g.kernel_h; ++i) {
        const scalar_t* src = plane + (y + i * g.dilation_h) * wp + x;
        if (g.dilation_w == 1) {
          std::copy(src, src + g.kernel_w, dst);
          dst += g.kernel_w;
        } else {
          for (std::int64_t j = 0; j < g.kernel_w; ++j) *dst++ = src[j * g.dilation_w];
        }
      }
    }
  }
}
}  // namespace

void ConvGeometry::gather(const torch::Tensor& padded, std::int64_t first, std::int64_t count, torch::Tensor& out) const {
  const std::int64_t channels = padded.size(1), hp = padded.size(2), wp = padded.size(3);
  const std::int64_t ho = (hp - dilation_h * (kernel_h - 1) - 1) / stride_h + 1;
  const std::int64_t wo = (wp - dilation_w * (kernel_w - 1) - 1) / stride_w + 1;
  const std::int64_t dim = patch_size(channels);
  if (!padded.device().is_cpu() || !padded.is_contiguous() || !out.is_contiguous() || out.numel() < count * dim ||
      out.scalar_type() != padded.scalar_type() || first + count > padded.size(0) * ho * wo)
    throw std::logic_error("ConvGeometry::gather: padded must be a contiguous CPU batch and out large enough");
  AT_DISPATCH_FLOATING_TYPES(padded.scalar_type(), "hebbkit_gather_patches", [&] {
    const auto* xd = padded.data_ptr<scalar_t>();
    auto* od = out.data_ptr<scalar_t>();
    at::parallel_for(first, first + count, 16, [&](std::int64_t r0, std::int64_t r1) {
      gather_rows(*this, xd, channels, hp, wp, ho, wo, r0, r1, od + (r0 - first) * dim);
    });
  });
}

torch::Tensor ConvGeometry::conv(const torch::Tensor& x, const torch::Tensor& kernels) const {
  const std::vector<std::int64_t> stride = {stride_h, stride_w}, none = {0, 0}, dilation = {dilation_h, dilation_w};
  return torch::conv2d(pad(x), kernels, torch::Tensor(), stride, none, dilation);
}

torch::Tensor ConvGeometry::unfold(const torch::Tensor& x) const {
  // im2col gives (B, C*kh*kw, L); rows of patches want (B*L, C*kh*kw).
  const auto cols = torch::im2col(pad(x), {kernel_h, kernel_w}, {dilation_h, dilation_w}, {0, 0}, {stride_h, stride_w});
  return cols.transpose(1, 2).reshape({-1, cols.size(1)});
}

std::string ConvGeometry::describe() const {
  return fmt::format("{}x{}, stride {}, dilation {}, {} padding {}/{}/{}/{}", kernel_h, kernel_w, stride_h, dilation_h,
                     reflect ? "reflect" : "zero", pad_top, pad_bottom, pad_left, pad_right);
}

Choices<PoolKind> param_choices(PoolKind) {
  return {{PoolKind::None, "none"}, {PoolKind::Max, "max"}, {PoolKind::Avg, "avg"}};
}

Pool2d::Pool2d(PoolKind default_kind)
    : kind(param("pool", default_kind, "pooling after the activation").readout()),
      size(param("pool_size", 2, "pooling window").at_least(1).readout()),
      stride(param("pool_stride", 0, "step of the pooling window (0: the window size)").at_least(0).readout()),
      padding(param("pool_padding", 0, "padding of the pooling window (max: -inf, avg: zeros counted)")
                  .at_least(0)
                  .readout()) {
  if (stride == 0) stride = size;
  const Params* given = params_being_read();
  if (given != nullptr && kind != PoolKind::None && 2 * padding > size)
    given->fail("pool_padding",
                fmt::format("pool_padding = {} is more than half the window pool_size = {}", padding, size));
}

namespace {

// Max pooling of contiguous (planes, h, w) into (planes, oh, ow) without arg-max indices:
// for each output row, the maxima down the window's rows (contiguous, vectorised over the
// row), then along that row, padded with -inf, over each window. The select keeps NaN (as
// torch does) and lets the loops vectorise.
template <class scalar_t>
inline scalar_t nan_max(scalar_t m, scalar_t v) {
  return (v > m || v != v) ? v : m;
}

template <class scalar_t>
inline void max_pool_plane(const scalar_t* __restrict x, scalar_t* __restrict y, scalar_t* __restrict row,
                           std::int64_t h, std::int64_t w, std::int64_t size, std::int64_t stride,
                           std::int64_t padding, std::int64_t oh, std::int64_t ow) {
  constexpr auto lowest = -std::numeric_limits<scalar_t>::infinity();
  const std::int64_t padded = w + 2 * padding;
  for (std::int64_t j = 0; j < padding; ++j) row[j] = row[padded - 1 - j] = lowest;
  scalar_t* inner = row + padding;
  for (std::int64_t oi = 0; oi < oh; ++oi) {
    const std::int64_t i0 = std::max<std::int64_t>(0, oi * stride - padding);
    const std::int64_t i1 = std::min(h, oi * stride - padding + size);
    std::copy(x + i0 * w, x + (i0 + 1) * w, inner);
    for (std::int64_t i = i0 + 1; i < i1; ++i)
      for (std::int64_t j = 0; j < w; ++j) inner[j] = nan_max(inner[j], x[i * w + j]);
    scalar_t* out = y + oi * ow;
    for (std::int64_t oj = 0; oj < ow; ++oj) out[oj] = row[oj * stride];
    for (std::int64_t d = 1; d < size; ++d)
      for (std::int64_t oj = 0; oj < ow; ++oj) out[oj] = nan_max(out[oj], row[oj * stride + d]);
  }
}

// target_clones does not take templates: one clone set per dtype.
HEBBKIT_VECTOR_CLONES void max_pool_plane_of(const float* x, float* y, float* row, std::int64_t h, std::int64_t w,
                                             std::int64_t size, std::int64_t stride, std::int64_t padding,
                                             std::int64_t oh, std::int64_t ow) {
  max_pool_plane(x, y, row, h, w, size, stride, padding, oh, ow);
}
HEBBKIT_VECTOR_CLONES void max_pool_plane_of(const double* x, double* y, double* row, std::int64_t h, std::int64_t w,
                                             std::int64_t size, std::int64_t stride, std::int64_t padding,
                                             std::int64_t oh, std::int64_t ow) {
  max_pool_plane(x, y, row, h, w, size, stride, padding, oh, ow);
}

template <class scalar_t>
void max_pool_planes(const scalar_t* in, scalar_t* out, std::int64_t planes, std::int64_t h, std::int64_t w,
                     std::int64_t size, std::int64_t stride, std::int64_t padding, std::int64_t oh, std::int64_t ow) {
  at::parallel_for(0, planes, 16, [&](std::int64_t begin, std::int64_t end) {
    std::vector<scalar_t> row(static_cast<std::size_t>(w + 2 * padding));
    for (std::int64_t plane = begin; plane < end; ++plane)
      max_pool_plane_of(in + plane * h * w, out + plane * oh * ow, row.data(), h, w, size, stride, padding, oh, ow);
  });
}

}  // namespace

torch::Tensor Pool2d::apply(const torch::Tensor& x) const {
  if (kind == PoolKind::Max) {
    // torch 1.13's CPU max pooling tracks each window's arg-max in a scalar loop: 72% of a
    // conv model's evaluation. Without a graph to record, the maxima alone (exactly the same).
    const bool graph = torch::GradMode::is_enabled() && x.requires_grad();
    const bool plain = x.dim() == 4 && x.device().is_cpu() && 2 * padding <= size &&
                       (x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble);
    if (graph || !plain) return torch::max_pool2d(x, {size, size}, {stride, stride}, {padding, padding});
    const auto [oh, ow] = output_size(x.size(2), x.size(3));
    const auto in = x.contiguous();
    auto out = torch::empty({x.size(0), x.size(1), oh, ow}, x.options());
    AT_DISPATCH_FLOATING_TYPES(in.scalar_type(), "hebbkit_max_pool", [&] {
      max_pool_planes<scalar_t>(in.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), x.size(0) * x.size(1), x.size(2),
                                x.size(3), size, stride, padding, oh, ow);
    });
    return out;
  }
  if (kind == PoolKind::Avg) return torch::avg_pool2d(x, {size, size}, {stride, stride}, {padding, padding});
  return x;
}

std::array<std::int64_t, 2> Pool2d::output_size(std::int64_t h, std::int64_t w) const {
  if (kind == PoolKind::None) return {h, w};
  const std::int64_t oh = (h + 2 * padding - size) / stride + 1, ow = (w + 2 * padding - size) / stride + 1;
  if (oh < 1 || ow < 1) throw DataError(fmt::format("a {} pooling window of {} does not fit {}x{}", choice_name(kind), size, h, w));
  return {oh, ow};
}

Choices<Activation> param_choices(Activation) {
  return {{Activation::Relu, "relu"}, {Activation::Triangle, "triangle"}, {Activation::None, "none"}};
}

LayerActivation::LayerActivation(Activation default_activation, PoolKind default_pool)
    : activation(param("activation", default_activation,
                       "the layer's activation: relu, triangle (relu of u minus its mean over channels, SoftHebb's) "
                       "or none")
                     .readout()),
      power(param("power", 1.0, "the activation is raised to this power").at_least(0).readout()),
      pool(default_pool) {
  const Params* given = params_being_read();
  if (given != nullptr && activation == Activation::None && power != 1.0 && power != std::floor(power))
    given->fail("power", fmt::format("power = {} of an activation that can be negative (none) is not real", power));
}

torch::Tensor LayerActivation::apply(const torch::Tensor& pre) const {
  // relu commutes with max pooling (max of relus = relu of the max, exactly): pooling first
  // makes the activation's pass over a conv layer's output pool_size^2 times smaller.
  if (activation == Activation::Relu && pool.kind == PoolKind::Max && power == 1.0) return torch::relu(pool.apply(pre));
  torch::Tensor y;
  if (activation == Activation::Relu) y = torch::relu(pre);
  else if (activation == Activation::Triangle) y = torch::relu(pre - pre.mean(1, /*keepdim=*/true));
  else y = pre;
  if (power != 1.0) y = y.pow(power);
  return pool.apply(y);
}

torch::Tensor LayerActivation::conv_output(const ConvGeometry& geometry, const torch::Tensor& x,
                                           const torch::Tensor& kernels) const {
  const bool graph = torch::GradMode::is_enabled() && (x.requires_grad() || kernels.requires_grad());
  if (graph) return apply(geometry.conv(x, kernels));
  const auto [h, w] = geometry.output_size(x.size(2), x.size(3));
  const double bytes_per_image = static_cast<double>(kernels.size(0) * h * w) * x.element_size();
  const auto chunk = std::max<std::int64_t>(1, static_cast<std::int64_t>((4 << 20) / bytes_per_image));
  if (chunk >= x.size(0)) return apply(geometry.conv(x, kernels));
  return apply_batched([&](const torch::Tensor& part) { return apply(geometry.conv(part, kernels)); }, x, chunk);
}

std::vector<std::int64_t> LayerActivation::output_shape(const std::vector<std::int64_t>& pre_shape) const {
  if (pre_shape.size() != 3) return pre_shape;
  const auto [h, w] = pool.output_size(pre_shape[1], pre_shape[2]);
  return {pre_shape[0], h, w};
}

std::vector<std::int64_t> LayerActivation::conv_output_shape(const ConvGeometry& geometry, std::int64_t kernels,
                                                             const std::vector<std::int64_t>& input_shape,
                                                             const Params& p) const {
  std::array<std::int64_t, 2> out{};
  try {
    out = geometry.output_size(input_shape.at(1), input_shape.at(2));
  } catch (const DataError& e) {
    p.fail("kernel", e.what());
  }
  try {
    return output_shape({kernels, out[0], out[1]});
  } catch (const DataError& e) {
    p.fail("pool_size", e.what());
  }
}

ChannelNorm::ChannelNorm(std::int64_t channels, const torch::TensorOptions& options)
    : mean_(torch::zeros({channels}, options)), var_(torch::ones({channels}, options)) {}

torch::Tensor ChannelNorm::train(const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  return torch::batch_norm(x, {}, {}, mean_, var_, /*training=*/true, /*momentum=*/0.1, /*eps=*/1e-5,
                           /*cudnn_enabled=*/false);
}

torch::Tensor ChannelNorm::train(const torch::Tensor& x, Collective& world) {
  if (world.size() == 1) return train(x);
  torch::NoGradGuard no_grad;
  // Sums in double over (batch, height, width) per channel, then PyTorch's training
  // batch norm from them: the biased variance normalises, the unbiased one is averaged.
  std::vector<std::int64_t> over = {0};
  for (std::int64_t d = 2; d < x.dim(); ++d) over.push_back(d);
  const auto xd = x.to(torch::kFloat64);
  const std::int64_t channels = mean_.size(0);
  std::vector<torch::Tensor> sums = {
      torch::cat({x.numel() > 0 ? xd.sum(over) : torch::zeros({channels}, xd.options()),
                  x.numel() > 0 ? xd.square().sum(over) : torch::zeros({channels}, xd.options()),
                  torch::full({1}, static_cast<double>(channels > 0 ? x.numel() / channels : 0), xd.options())})};
  world.all_reduce_sum(sums);
  const auto n = sums[0][2 * channels].item<double>();
  const auto mean = sums[0].slice(0, 0, channels) / n;
  const auto biased = (sums[0].slice(0, channels, 2 * channels) / n - mean.square()).clamp_min(0);
  mean_.mul_(0.9).add_(mean.to(mean_.scalar_type()), 0.1);
  var_.mul_(0.9).add_((biased * (n / std::max(1.0, n - 1))).to(var_.scalar_type()), 0.1);
  std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[1] = channels;
  const auto scale = (biased + 1e-5).rsqrt().to(x.scalar_type()).view(shape);
  return (x - mean.to(x.scalar_type()).view(shape)) * scale;
}

torch::Tensor ChannelNorm::apply(const torch::Tensor& x) const {
  return torch::batch_norm(x, {}, {}, mean_, var_, /*training=*/false, 0.1, 1e-5, false);
}

std::vector<NamedTensor> ChannelNorm::state(const std::string& prefix) const {
  return {{prefix + "_mean", mean_}, {prefix + "_var", var_}};
}

void ChannelNorm::load_state(const std::vector<NamedTensor>& state, const std::string& prefix, std::int64_t channels) {
  for (const auto* name : {"_mean", "_var"}) {
    const auto& t = find_state(state, prefix + name);
    if (t.dim() != 1 || t.size(0) != channels)
      throw DataError(fmt::format("{}{} has shape {}, the layer has {} input channels", prefix, name,
                                  fmt::join(t.sizes(), "x"), channels));
  }
  mean_ = find_state(state, prefix + "_mean").clone();
  var_ = find_state(state, prefix + "_var").clone();
}

}  // namespace hebbkit
