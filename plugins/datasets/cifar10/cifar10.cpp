// CIFAR-10: 50k train / 10k test 32x32 RGB images, official binary batches.
#include <hebbkit/context.hpp>
#include <hebbkit/data_formats.hpp>
#include <hebbkit/errors.hpp>
#include <hebbkit/plugin.hpp>

namespace {

class Cifar10 final : public hebbkit::Dataset {
 public:
  static constexpr const char* name = "cifar10";
  static constexpr const char* summary = "CIFAR-10, 50k/10k 3x32x32 (binary batches in <root>/cifar10)";
  std::vector<std::int64_t> sample_shape() const override { return {3, 32, 32}; }

  hebbkit::DatasetContent load(const std::filesystem::path& root, hebbkit::RunContext&) override {
    const auto folder = root / "cifar10";
    const std::string hint = "run datasets/fetch cifar10, or set HEBBKIT_DATA";
    std::vector<std::filesystem::path> train_files;
    for (int i = 1; i <= 5; ++i)
      train_files.push_back(hebbkit::data::find_file(folder, "data_batch_" + std::to_string(i) + ".bin", hint));
    hebbkit::DatasetContent content;
    content.train = hebbkit::data::read_cifar_batches(train_files, 10);
    content.test = hebbkit::data::read_cifar_batches({hebbkit::data::find_file(folder, "test_batch.bin", hint)}, 10);
    content.classes = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
    return content;
  }
};

}  // namespace

HEBBKIT_PLUGIN(Cifar10)
