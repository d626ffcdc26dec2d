// MNIST handwritten digits: 60k train / 10k test 28x28 grey images in IDX format.
#include <hebbkit/context.hpp>
#include <hebbkit/data_formats.hpp>
#include <hebbkit/errors.hpp>
#include <hebbkit/plugin.hpp>

namespace {

class Mnist final : public hebbkit::Dataset {
 public:
  static constexpr const char* name = "mnist";
  static constexpr const char* summary = "MNIST digits, 60k/10k 1x28x28 (IDX files in <root>/mnist)";
  std::vector<std::int64_t> sample_shape() const override { return {1, 28, 28}; }

  hebbkit::DatasetContent load(const std::filesystem::path& root, hebbkit::RunContext&) override {
    return hebbkit::data::load_idx_dataset(root / "mnist", "run datasets/fetch mnist, or set HEBBKIT_DATA",
                                           {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
  }
};

}  // namespace

HEBBKIT_PLUGIN(Mnist)
