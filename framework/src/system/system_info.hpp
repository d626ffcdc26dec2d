#pragma once
// Facts about the machine and build recorded in every run's manifest.
#include <filesystem>
#include <string>
#include <vector>

namespace hebbkit::system {

/// Hex SHA-256 of a file's bytes.
std::string sha256_file(const std::filesystem::path& file);
/// Hex SHA-256 of a string.
std::string sha256_text(const std::string& text);

/// The BLAS / LAPACK shared libraries mapped into this process, as real paths (so the
/// Debian alternatives link resolves to e.g. .../openblas-openmp/libblas.so.3). Runs a
/// tiny matrix product first so that lazily loaded backends are counted.
std::vector<std::string> loaded_blas_libraries();

/// `git rev-parse HEAD` of the source folder hebbkit was built from, asked at run time
/// (so a commit made after the build shows), with "-dirty" when it has uncommitted
/// changes; "unknown" when that folder is gone or not a git checkout.
std::string git_commit();

std::string host_name();
std::string libtorch_version();

/// Number of cores usable by this process.
int available_cores();

}  // namespace hebbkit::system
