#include <cstdio>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <png.h>
#include <torch/types.h>

#include "hebbkit/io.hpp"

namespace hebbkit::io {

void save_png(const std::filesystem::path& file, const torch::Tensor& pixels) {
  torch::Tensor t = pixels.detach().to(torch::kCPU).contiguous();
  if (t.scalar_type() != torch::kUInt8 || (t.dim() != 2 && !(t.dim() == 3 && t.size(2) == 3)))
    throw std::invalid_argument(fmt::format("{}: save_png needs uint8 (H, W) or (H, W, 3), got {} {}",
                                            file.string(), c10::toString(t.scalar_type()), fmt::join(t.sizes(), "x")));
  const auto height = static_cast<png_uint_32>(t.size(0));
  const auto width = static_cast<png_uint_32>(t.size(1));
  const int channels = t.dim() == 3 ? 3 : 1;

  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = width;
  image.height = height;
  image.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  png_alloc_size_t size = 0;
  // First call sizes the buffer, second encodes into it.
  if (!png_image_write_to_memory(&image, nullptr, &size, 0, t.data_ptr(), 0, nullptr))
    throw std::runtime_error(fmt::format("{}: PNG encoding failed: {}", file.string(), image.message));
  std::string buffer(size, '\0');
  if (!png_image_write_to_memory(&image, buffer.data(), &size, 0, t.data_ptr(), 0, nullptr))
    throw std::runtime_error(fmt::format("{}: PNG encoding failed: {}", file.string(), image.message));
  buffer.resize(size);
  write_atomic(file, buffer);
}

}  // namespace hebbkit::io

namespace hebbkit::io {

torch::Tensor tile_images(const torch::Tensor& images, std::int64_t columns, std::int64_t pad, double pad_value) {
  if (images.dim() != 4 || (images.size(1) != 1 && images.size(1) != 3))
    throw std::invalid_argument(fmt::format("tile_images needs (N, 1 or 3, H, W), got {}", fmt::join(images.sizes(), "x")));
  const auto x = images.detach().to(torch::kCPU, torch::kFloat32).clamp(0, 1);
  const std::int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  columns = std::max<std::int64_t>(1, std::min(columns, n));
  const std::int64_t rows = (n + columns - 1) / columns;
  auto canvas = torch::full({c, rows * (h + pad) + pad, columns * (w + pad) + pad}, pad_value);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t top = pad + (i / columns) * (h + pad), left = pad + (i % columns) * (w + pad);
    canvas.slice(1, top, top + h).slice(2, left, left + w).copy_(x[i]);
  }
  auto pixels = canvas.mul(255).round_().to(torch::kUInt8);
  return c == 1 ? pixels[0].contiguous() : pixels.permute({1, 2, 0}).contiguous();
}

}  // namespace hebbkit::io
