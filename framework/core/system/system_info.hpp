#pragma once
// Facts about the machine and build recorded in every run's manifest.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace hebbkit::system {

/// Hex SHA-256 of a file's bytes.
std::string sha256_file(const std::filesystem::path& file);
/// Hex SHA-256 of a string.
std::string sha256_text(const std::string& text);

/// The BLAS / LAPACK shared libraries mapped into this process now, as real paths (so the
/// Debian alternatives link resolves to e.g. .../openblas-openmp/libblas.so.3). A lazily
/// loaded backend shows only after its first use: see system::blas_in_use() on the host.
std::vector<std::string> loaded_blas_libraries();

/// The checkout a build tree was made from (named by build/lib/hebbkit/source_dir.txt,
/// which is not installed); nullopt for an installed hebbkit.
std::optional<std::filesystem::path> source_tree();

/// Where datasets are looked for when neither the recipe nor $HEBBKIT_DATA says: the
/// checkout's datasets/cache in a build tree; installed, $XDG_DATA_HOME/hebbkit/datasets
/// (default ~/.local/share/hebbkit/datasets).
std::filesystem::path default_data_root();

/// The commit hebbkit was built from. In a build tree, `git rev-parse HEAD` of the checkout
/// asked at run time (so edits after the build show), with "-dirty" for uncommitted
/// changes; installed, the commit recorded at build time; "unknown" without git.
std::string git_commit();

std::string host_name();

/// The most resident memory this process has used so far, in MiB.
double peak_rss_mib();

/// Number of cores usable by this process.
int available_cores();

}  // namespace hebbkit::system
