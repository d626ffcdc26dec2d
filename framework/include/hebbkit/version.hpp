#pragma once
// The plugin ABI version. Bump it whenever a public interface, the Manifest layout or
// the Params view changes; the host refuses plugins built against another value.
#define HEBBKIT_API_VERSION 11

namespace hebbkit {

inline constexpr int api_version = HEBBKIT_API_VERSION;

/// hebbkit's release version, e.g. "0.1.0".
const char* version_string();

}  // namespace hebbkit
