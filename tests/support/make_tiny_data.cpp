// make_tiny_data DIR: writes DIR/mnist (raw IDX), DIR/fashion_mnist (gzipped IDX) and
// DIR/cifar10 (binary batches) for the command-line and out-of-tree tests.
#include <cstdio>

#include "support/tiny_data.hpp"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  hebbkit::testing::write_idx_dataset(dir / "mnist", 400, 200, false);
  hebbkit::testing::write_idx_dataset(dir / "fashion_mnist", 400, 200, true);
  hebbkit::testing::write_cifar_dataset(dir / "cifar10", 50);
  return 0;
}
