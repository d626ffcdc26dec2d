#include "run/run_folder.hpp"

#include <signal.h>

#include <cerrno>
#include <fstream>

#include <fmt/format.h>

#include "system/system_info.hpp"

namespace hebbkit::run {
using nlohmann::json;

std::optional<json> read_manifest(const std::filesystem::path& dir, std::string& why) {
  try {
    auto manifest = json::parse(std::ifstream(dir / "manifest.json"));
    if (!manifest.is_object()) {
      why = "manifest.json is not a JSON object";
      return std::nullopt;
    }
    return manifest;
  } catch (const std::exception& e) {
    why = fmt::format("manifest.json: {}", e.what());
    return std::nullopt;
  }
}

std::string text(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string("?");
}

std::string live_status(const json& manifest) {
  const auto status = text(manifest, "status");
  if (status != "running") return status;
  const auto pid = manifest.find("pid");
  if (pid == manifest.end() || !pid->is_number_integer() || text(manifest, "host") != system::host_name())
    return status;  // another machine's run: we cannot tell
  const bool alive = ::kill(static_cast<pid_t>(pid->get<long>()), 0) == 0 || errno == EPERM;
  return alive ? status : "killed";
}

}  // namespace hebbkit::run
