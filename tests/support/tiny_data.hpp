#pragma once
// Small datasets in the real file formats, written by the tests themselves.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hebbkit::testing {

/// A learnable toy problem: image i has label i % 10 and a bright 4x4 patch whose
/// position encodes the label, on faint noise (deterministic in `seed`).
std::vector<std::uint8_t> toy_image(std::int64_t index, int rows, int cols, std::uint32_t seed);

/// Writes the four MNIST-layout IDX files into `folder` (gzipped when `gzip`).
void write_idx_dataset(const std::filesystem::path& folder, std::int64_t train, std::int64_t test, bool gzip);

/// Writes one IDX file: images (magic 0x803) when rows > 0, labels (0x801) otherwise.
void write_idx(const std::filesystem::path& file, const std::vector<std::uint8_t>& payload, std::int64_t count,
               int rows, int cols, bool gzip);

/// Writes data_batch_1..5.bin and test_batch.bin with `per_batch` records each.
void write_cifar_dataset(const std::filesystem::path& folder, std::int64_t per_batch);

/// Writes raw bytes to a file.
void write_bytes(const std::filesystem::path& file, const std::vector<std::uint8_t>& bytes);

/// A fresh, empty temporary folder, removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace hebbkit::testing
