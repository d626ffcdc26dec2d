#pragma once
// Tensor files a run writes: numpy arrays, PNG images (and, from files.hpp, atomic
// replacement and safe names).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/types.h>

#include "hebbkit/files.hpp"

namespace hebbkit::io {

/// Saves a tensor as a NumPy .npy file (float32, float64, int64, uint8 or bool, C order),
/// loadable with numpy.load. Written atomically.
void save_npy(const std::filesystem::path& file, const torch::Tensor& tensor);
/// Loads a .npy file written by save_npy or numpy (little-endian, C order).
torch::Tensor load_npy(const std::filesystem::path& file);

/// Saves an 8-bit image: `pixels` is uint8 (H, W) grey or (H, W, 3) RGB. Written atomically.
void save_png(const std::filesystem::path& file, const torch::Tensor& pixels);

}  // namespace hebbkit::io

namespace hebbkit::io {

/// Tiles images (N, C, H, W) with values in [0, 1] into one uint8 picture of `columns`
/// columns, separated by `pad` pixels of `pad_value`: (H', W') for C = 1, (H', W', 3)
/// for C = 3 — ready for save_png.
torch::Tensor tile_images(const torch::Tensor& images, std::int64_t columns, std::int64_t pad = 1,
                          double pad_value = 1.0);

}  // namespace hebbkit::io
