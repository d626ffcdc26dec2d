#include "support/catch.hpp"

#include "plugins/registry.hpp"
#include "support/tiny_data.hpp"
#include "support/paths.hpp"

using namespace hebbkit;
using Catch::Matchers::Contains;

TEST_CASE("the build's plugins are found with their kinds and schemas", "[plugins]") {
  const auto& registry = plugins::default_registry();
  for (const auto& problem : registry.problems()) WARN(problem);
  CHECK(registry.find(PluginKind::Dataset, "mnist"));
  CHECK(registry.find(PluginKind::Dataset, "fashion_mnist"));
  CHECK(registry.find(PluginKind::Dataset, "cifar10"));
  const auto* softmax = registry.find(PluginKind::Head, "softmax");
  REQUIRE(softmax);
  CHECK(softmax->manifest->api_version == HEBBKIT_API_VERSION);
  CHECK(softmax->manifest->make_head);
  CHECK_FALSE(softmax->manifest->make_rule);
  CHECK_FALSE(registry.find(PluginKind::Rule, "softmax"));
  bool has_lr = false;
  for (const auto& spec : softmax->manifest->schema) has_lr |= spec.name == "lr" && !spec.doc.empty();
  CHECK(has_lr);
}

TEST_CASE("a plugin built for another API version is refused by name", "[plugins][errors]") {
  const std::filesystem::path bad = hebbkit::testing::build_dir() / "tests/bad_plugins/hebbkit_wrong_api.so";
  CHECK_THROWS_WITH(plugins::Registry::load_library(bad),
                    Contains(bad.string()) && Contains("API version 999") &&
                        Contains("this hebbkit has API version " + std::to_string(HEBBKIT_API_VERSION)));
  plugins::Registry registry;
  registry.scan({bad.parent_path()});
  CHECK(registry.plugins().empty());
  REQUIRE(registry.problems().size() == 1);
  CHECK_THAT(registry.problems()[0], Contains("API version 999"));
}

TEST_CASE("files that are not plugins are reported, not loaded", "[plugins][errors]") {
  testing::TempDir dir("plugins");
  testing::write_bytes(dir / "hebbkit_fake.so", {'n', 'o', 't', ' ', 'e', 'l', 'f'});
  plugins::Registry registry;
  registry.scan({dir.path(), dir / "does-not-exist"});
  REQUIRE(registry.problems().size() == 1);
  CHECK_THAT(registry.problems()[0], Contains("hebbkit_fake.so: cannot load plugin library"));
}

TEST_CASE("a plugin name found twice keeps the first", "[plugins]") {
  const auto folder = plugins::Registry::default_folders().front();
  plugins::Registry once, twice;
  once.scan({folder});
  twice.scan({folder, folder});
  CHECK(twice.plugins().size() == once.plugins().size());
  CHECK(twice.names(PluginKind::Head) == once.names(PluginKind::Head));
  CHECK(twice.problems().size() == once.plugins().size());
  CHECK_THAT(twice.problems().front(), Contains("already loaded from"));
}

TEST_CASE("a plugin library cut short is reported as broken, not mapped (no SIGBUS)", "[plugins][errors]") {
  testing::TempDir dir("truncated");
  const auto real = plugins::default_registry().find(PluginKind::Head, "softmax")->file;
  const auto size = std::filesystem::file_size(real);
  // Cut inside the loaded segments, just past the headers, and a file of only an ELF header.
  for (const std::uintmax_t keep : {size / 2, std::uintmax_t(4096), std::uintmax_t(64), std::uintmax_t(20)}) {
    CAPTURE(keep);
    std::filesystem::remove_all(dir.path());
    std::filesystem::create_directories(dir.path());
    std::filesystem::copy_file(real, dir / "hebbkit_partial.so");
    std::filesystem::resize_file(dir / "hebbkit_partial.so", keep);
    plugins::Registry registry;
    registry.scan({dir.path()});
    CHECK(registry.plugins().empty());
    REQUIRE(registry.problems().size() == 1);
    CHECK_THAT(registry.problems()[0], Contains("hebbkit_partial.so: cannot load plugin library: the file is cut short"));
  }
}

TEST_CASE("a link loop or a dangling link in a plugin folder is reported by name, not thrown", "[plugins][errors]") {
  testing::TempDir dir("plugin_links");
  std::filesystem::create_symlink("hebbkit_loop.so", dir / "hebbkit_loop.so");
  std::filesystem::create_symlink("nowhere.so", dir / "hebbkit_dangling.so");
  plugins::Registry registry;
  registry.scan({dir.path()});
  CHECK(registry.plugins().empty());
  REQUIRE(registry.problems().size() == 2);  // sorted by nothing: look for each
  const std::string both = registry.problems()[0] + "\n" + registry.problems()[1];
  CHECK_THAT(both, Contains("hebbkit_loop.so: cannot load plugin library: Too many levels of symbolic links"));
  CHECK_THAT(both, Contains("hebbkit_dangling.so: cannot load plugin library: No such file or directory"));
}
