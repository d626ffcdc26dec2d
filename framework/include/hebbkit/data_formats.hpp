#pragma once
// Readers for the file formats the bundled datasets use, shared with plugin authors.
// Every reader validates magic numbers, sizes and label ranges and throws DataError
// naming the file.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/types.h>

#include "hebbkit/dataset.hpp"

namespace hebbkit::data {

/// Whole file contents; transparently gunzips files that start with the gzip magic.
std::vector<std::uint8_t> read_maybe_gzip(const std::filesystem::path& file);

/// IDX3 images (magic 0x00000803) as float32 (N, 1, H, W) in [0, 1].
torch::Tensor read_idx_images(const std::filesystem::path& file);
/// IDX1 labels (magic 0x00000801) as int64 (N); every label must be < num_classes.
torch::Tensor read_idx_labels(const std::filesystem::path& file, std::int64_t num_classes);

/// CIFAR-10 binary batches (per record: 1 label byte, 3072 bytes of R, G, B planes)
/// concatenated, as a Split with images (N, 3, 32, 32).
Split read_cifar_batches(const std::vector<std::filesystem::path>& files,
                         std::int64_t num_classes);

/// The first of `names` (each tried as is and with ".gz") that exists in `folder`;
/// otherwise throws DataError listing what was looked for and `hint` (how to fetch it).
std::filesystem::path find_file(const std::filesystem::path& folder,
                                 const std::string& name, const std::string& hint);

/// Checks that images and labels agree in count; throws DataError naming both files.
void check_pair(const Split& split, const std::filesystem::path& images_file,
                const std::filesystem::path& labels_file);

}  // namespace hebbkit::data

namespace hebbkit::data {

/// The MNIST-style layout: train-images-idx3-ubyte, train-labels-idx1-ubyte,
/// t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each raw or .gz) in `folder`.
DatasetContent load_idx_dataset(const std::filesystem::path& folder, const std::string& fetch_hint,
                                std::vector<std::string> classes);

}  // namespace hebbkit::data
