#pragma once
// Reading a run folder's manifest, as `hebbkit runs`, `--resume` and sweeps do.
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace hebbkit::run {

/// dir/manifest.json as a JSON object, or nullopt with the reason in `why`.
std::optional<nlohmann::json> read_manifest(const std::filesystem::path& dir, std::string& why);

/// object[key] when it is a string, else "?".
std::string text(const nlohmann::json& object, const char* key);

/// The manifest's status, except that a "running" run whose process is gone from this
/// host (SIGKILL, a crash, a reboot) is "killed".
std::string live_status(const nlohmann::json& manifest);

}  // namespace hebbkit::run
