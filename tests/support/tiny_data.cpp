#include "support/tiny_data.hpp"

#include <fstream>
#include <random>
#include <stdexcept>

#include <unistd.h>
#include <zlib.h>

namespace hebbkit::testing {
namespace fs = std::filesystem;

std::vector<std::uint8_t> toy_image(std::int64_t index, int rows, int cols, std::uint32_t seed) {
  std::mt19937 rng(seed + static_cast<std::uint32_t>(index) * 7919u);
  std::uniform_int_distribution<int> noise(0, 40);
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(rows * cols));
  for (auto& p : pixels) p = static_cast<std::uint8_t>(noise(rng));
  const int label = static_cast<int>(index % 10);
  const int top = 2 + (label / 5) * (rows / 2), left = 2 + (label % 5) * ((cols - 4) / 5);
  for (int r = top; r < top + 4 && r < rows; ++r)
    for (int c = left; c < left + 4 && c < cols; ++c) pixels[static_cast<std::size_t>(r * cols + c)] = 255;
  return pixels;
}

void write_bytes(const fs::path& file, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

void write_idx(const fs::path& file, const std::vector<std::uint8_t>& payload, std::int64_t count, int rows,
               int cols, bool gzip) {
  std::vector<std::uint8_t> bytes;
  auto u32 = [&](std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<std::uint8_t>(v >> shift));
  };
  u32(rows > 0 ? 0x803 : 0x801);
  u32(static_cast<std::uint32_t>(count));
  if (rows > 0) {
    u32(static_cast<std::uint32_t>(rows));
    u32(static_cast<std::uint32_t>(cols));
  }
  bytes.insert(bytes.end(), payload.begin(), payload.end());
  if (!gzip) return write_bytes(file, bytes);
  gzFile out = gzopen((file.string() + ".gz").c_str(), "wb");
  if (!out) throw std::runtime_error("cannot write " + file.string() + ".gz");
  gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(out);
}

void write_idx_dataset(const fs::path& folder, std::int64_t train, std::int64_t test, bool gzip) {
  fs::create_directories(folder);
  for (auto [prefix, n, seed] : {std::tuple{"train", train, 1u}, std::tuple{"t10k", test, 2u}}) {
    std::vector<std::uint8_t> images, labels;
    for (std::int64_t i = 0; i < n; ++i) {
      const auto img = toy_image(i, 28, 28, seed);
      images.insert(images.end(), img.begin(), img.end());
      labels.push_back(static_cast<std::uint8_t>(i % 10));
    }
    write_idx(folder / (std::string(prefix) + "-images-idx3-ubyte"), images, n, 28, 28, gzip);
    write_idx(folder / (std::string(prefix) + "-labels-idx1-ubyte"), labels, n, 0, 0, gzip);
  }
}

void write_cifar_dataset(const fs::path& folder, std::int64_t per_batch) {
  fs::create_directories(folder);
  auto batch = [&](const std::string& name, std::uint32_t seed) {
    std::vector<std::uint8_t> bytes;
    for (std::int64_t i = 0; i < per_batch; ++i) {
      bytes.push_back(static_cast<std::uint8_t>(i % 10));
      const auto img = toy_image(i, 32, 32, seed);
      for (int channel = 0; channel < 3; ++channel) bytes.insert(bytes.end(), img.begin(), img.end());
    }
    write_bytes(folder / name, bytes);
  };
  for (int b = 1; b <= 5; ++b) batch("data_batch_" + std::to_string(b) + ".bin", 10u + b);
  batch("test_batch.bin", 20u);
}

TempDir::TempDir(const std::string& tag) {
  std::string pattern = (fs::temp_directory_path() / ("hebbkit-" + tag + "-XXXXXX")).string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace hebbkit::testing
