#pragma once
// What the report pages share beside html.hpp (within core/report only).
#include <filesystem>
#include <string>

#include "run/run_records.hpp"

namespace hebbkit::report {

/// The resolved recipe, and how it differs from the recipe file it came from.
std::string recipe_section(const std::filesystem::path& dir, const run::RunManifest& manifest);
/// Versions, machine, command, plugins and their digests.
std::string manifest_section(const run::RunManifest& manifest);
/// A coloured status label.
std::string status_badge(run::RunStatus status);

}  // namespace hebbkit::report
