#pragma once
// Child processes: a sweep's workers, a data-parallel run's other ranks.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>


namespace hebbkit::system {

/// Starts argv[0] (a path) with `argv`, the current environment plus `env` (NAME=VALUE,
/// replacing an existing NAME), stdin from /dev/null and stdout+stderr appended to
/// `output`. The child gets its own process group, so a Ctrl-C on the terminal reaches
/// the parent alone, which then stops its children once and cleanly.
pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
            const std::filesystem::path& output);

/// "exit code 3", "killed by signal 9 (Killed)" for a waitpid() status.
std::string describe_exit(int wait_status);

/// The last `lines` lines of `file` ("" when unreadable).
std::string tail(const std::filesystem::path& file, std::size_t lines);

/// This executable's own path, for the processes it starts and Slurm tasks.
std::filesystem::path own_executable();

}  // namespace hebbkit::system
