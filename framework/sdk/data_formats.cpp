#include <fmt/format.h>
#include <torch/types.h>
#include <zlib.h>

#include "hebbkit/data_formats.hpp"
#include "hebbkit/errors.hpp"

namespace hebbkit::data {
namespace fs = std::filesystem;
namespace {

std::uint32_t big_endian_u32(const std::vector<std::uint8_t>& bytes, std::size_t at) {
  return (std::uint32_t(bytes[at]) << 24) | (std::uint32_t(bytes[at + 1]) << 16) |
         (std::uint32_t(bytes[at + 2]) << 8) | std::uint32_t(bytes[at + 3]);
}

constexpr std::uint32_t idx_images_magic = 0x00000803;
constexpr std::uint32_t idx_labels_magic = 0x00000801;
// Read whole into memory: a bound, so that a gzip bomb or a wrong file is refused, not swapped in.
constexpr std::size_t max_idx_bytes = std::size_t(4) << 30;

}  // namespace

std::vector<std::uint8_t> read_maybe_gzip(const fs::path& file) {
  // gzread passes uncompressed files through unchanged, so one path serves both.
  gzFile in = gzopen(file.c_str(), "rb");
  if (!in) throw DataError(fmt::format("{}: cannot open", file.string()));
  std::vector<std::uint8_t> out;
  std::uint8_t chunk[1 << 16];
  while (true) {
    const int got = gzread(in, chunk, sizeof chunk);
    if (got < 0) {
      int code = 0;
      const std::string message = gzerror(in, &code);
      gzclose(in);
      throw DataError(fmt::format("{}: corrupt or truncated gzip data ({})", file.string(), message));
    }
    if (got == 0) break;
    if (out.size() + static_cast<std::size_t>(got) > max_idx_bytes) {
      gzclose(in);
      throw DataError(fmt::format("{}: holds more than {} GiB (decompressed); hebbkit reads data files up to that size",
                                  file.string(), max_idx_bytes >> 30));
    }
    out.insert(out.end(), chunk, chunk + got);
  }
  // A stream cut short ends with got == 0 but leaves an error behind.
  int code = Z_OK;
  const std::string message = gzerror(in, &code);
  gzclose(in);
  if (code != Z_OK && code != Z_STREAM_END)
    throw DataError(fmt::format("{}: corrupt or truncated gzip data ({})", file.string(), message));
  return out;
}

torch::Tensor read_idx_images(const fs::path& file) {
  const auto bytes = read_maybe_gzip(file);
  const auto magic = bytes.size() >= 4 ? big_endian_u32(bytes, 0) : 0;
  if (magic != idx_images_magic)
    throw DataError(fmt::format("{}: not an IDX image file: magic 0x{:08x}, expected 0x{:08x}{}", file.string(),
                                magic, idx_images_magic,
                                magic == idx_labels_magic ? " (this is a label file)" : ""));
  if (bytes.size() < 16)
    throw DataError(fmt::format("{}: too short for an IDX image file ({} bytes)", file.string(), bytes.size()));
  const std::int64_t n = big_endian_u32(bytes, 4), rows = big_endian_u32(bytes, 8), cols = big_endian_u32(bytes, 12);
  // Three 32-bit counts can multiply past 64 bits and wrap to the file's size: checked.
  std::uint64_t pixels = 0, expected = 0;
  if (__builtin_mul_overflow(std::uint64_t(n), std::uint64_t(rows), &pixels) ||
      __builtin_mul_overflow(pixels, std::uint64_t(cols), &pixels) || __builtin_add_overflow(pixels, 16u, &expected))
    throw DataError(fmt::format("{}: header says {} images of {}x{}, more bytes than any file holds (the file has {})",
                                file.string(), n, rows, cols, bytes.size()));
  if (bytes.size() != expected)
    throw DataError(fmt::format("{}: header says {} images of {}x{} ({} bytes) but the file has {} bytes{}",
                                file.string(), n, rows, cols, expected, bytes.size(),
                                bytes.size() < expected ? " (truncated)" : ""));
  auto images = torch::from_blob(const_cast<std::uint8_t*>(bytes.data() + 16), {n, 1, rows, cols}, torch::kUInt8);
  return images.to(torch::kFloat32).div_(255.0);
}

torch::Tensor read_idx_labels(const fs::path& file, std::int64_t num_classes) {
  const auto bytes = read_maybe_gzip(file);
  const auto magic = bytes.size() >= 4 ? big_endian_u32(bytes, 0) : 0;
  if (magic != idx_labels_magic)
    throw DataError(fmt::format("{}: not an IDX label file: magic 0x{:08x}, expected 0x{:08x}{}", file.string(),
                                magic, idx_labels_magic,
                                magic == idx_images_magic ? " (this is an image file)" : ""));
  if (bytes.size() < 8)
    throw DataError(fmt::format("{}: too short for an IDX label file ({} bytes)", file.string(), bytes.size()));
  const std::int64_t n = big_endian_u32(bytes, 4);
  if (bytes.size() != std::size_t(8 + n))
    throw DataError(fmt::format("{}: header says {} labels but the file has {} bytes after the header{}",
                                file.string(), n, bytes.size() - 8, bytes.size() < std::size_t(8 + n) ? " (truncated)" : ""));
  for (std::int64_t i = 0; i < n; ++i)
    if (bytes[8 + i] >= num_classes)
      throw DataError(fmt::format("{}: label {} at index {} is out of range: there are {} classes", file.string(),
                                  int(bytes[8 + i]), i, num_classes));
  return torch::from_blob(const_cast<std::uint8_t*>(bytes.data() + 8), {n}, torch::kUInt8).to(torch::kInt64);
}

Split read_cifar_batches(const std::vector<fs::path>& files, std::int64_t num_classes) {
  constexpr std::int64_t record = 1 + 3 * 32 * 32;
  std::vector<torch::Tensor> images, labels;
  for (const auto& file : files) {
    const auto bytes = read_maybe_gzip(file);
    if (bytes.empty() || bytes.size() % record != 0)
      throw DataError(fmt::format("{}: {} bytes is not a whole number of CIFAR-10 records ({} bytes each){}",
                                  file.string(), bytes.size(), record, bytes.empty() ? "" : " (truncated or foreign file)"));
    const std::int64_t n = bytes.size() / record;
    auto raw = torch::from_blob(const_cast<std::uint8_t*>(bytes.data()), {n, record}, torch::kUInt8);
    auto y = raw.select(1, 0).to(torch::kInt64);
    if (y.max().item<std::int64_t>() >= num_classes) {
      const auto bad = (y >= num_classes).nonzero().flatten()[0].item<std::int64_t>();
      throw DataError(fmt::format("{}: label {} of record {} is out of range: there are {} classes", file.string(),
                                  y[bad].item<std::int64_t>(), bad, num_classes));
    }
    labels.push_back(y);
    images.push_back(raw.slice(1, 1).reshape({n, 3, 32, 32}).to(torch::kFloat32).div_(255.0));
  }
  return Split{torch::cat(images), torch::cat(labels)};
}

fs::path find_file(const fs::path& folder, const std::string& name, const std::string& hint) {
  for (const auto& candidate : {folder / name, folder / (name + ".gz")})
    if (fs::is_regular_file(candidate)) return candidate;
  throw DataError(fmt::format("{}: not found (also looked for {}.gz); {}", (folder / name).string(), name, hint));
}

void check_pair(const Split& split, const fs::path& images_file, const fs::path& labels_file) {
  if (split.images.size(0) != split.labels.size(0))
    throw DataError(fmt::format("{} has {} images but {} has {} labels", images_file.string(), split.images.size(0),
                                labels_file.string(), split.labels.size(0)));
}

}  // namespace hebbkit::data

namespace hebbkit::data {

DatasetContent load_idx_dataset(const fs::path& folder, const std::string& fetch_hint,
                                std::vector<std::string> classes) {
  const auto n = static_cast<std::int64_t>(classes.size());
  auto read = [&](const std::string& prefix) {
    const auto images_file = find_file(folder, prefix + "-images-idx3-ubyte", fetch_hint);
    const auto labels_file = find_file(folder, prefix + "-labels-idx1-ubyte", fetch_hint);
    Split split{read_idx_images(images_file), read_idx_labels(labels_file, n)};
    check_pair(split, images_file, labels_file);
    return split;
  };
  DatasetContent content;
  content.train = read("train");
  content.test = read("t10k");
  content.classes = std::move(classes);
  return content;
}

}  // namespace hebbkit::data
