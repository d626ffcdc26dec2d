// Fashion-MNIST (Zalando): MNIST's format and sizes, ten kinds of clothing.
#include <hebbkit/context.hpp>
#include <hebbkit/data_formats.hpp>
#include <hebbkit/errors.hpp>
#include <hebbkit/plugin.hpp>

namespace {

class FashionMnist final : public hebbkit::Dataset {
 public:
  static constexpr const char* name = "fashion_mnist";
  static constexpr const char* summary = "Fashion-MNIST, 60k/10k 1x28x28 (IDX files in <root>/fashion_mnist)";
  std::vector<std::int64_t> sample_shape() const override { return {1, 28, 28}; }

  hebbkit::DatasetContent load(const std::filesystem::path& root, hebbkit::RunContext&) override {
    return hebbkit::data::load_idx_dataset(
        root / "fashion_mnist", "run datasets/fetch fashion_mnist, or set HEBBKIT_DATA",
        {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"});
  }
};

}  // namespace

HEBBKIT_PLUGIN(FashionMnist)
