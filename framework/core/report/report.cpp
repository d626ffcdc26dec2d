#include "report/report.hpp"

#include <fmt/format.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/files.hpp"
#include "run/run_records.hpp"
#include "run/run_store.hpp"

namespace hebbkit::report {
namespace fs = std::filesystem;

void write_page(const fs::path& file, const std::string& html) { io::write_atomic(file, html); }

fs::path write_report(const std::vector<fs::path>& paths, const fs::path& out) {
  if (paths.empty()) throw RecipeError("report: give a run folder, several run folders or a sweep folder");
  for (const auto& path : paths)
    if (!fs::exists(path / "manifest.json") && !fs::exists(path / "sweep.yaml"))
      throw RecipeError(fmt::format("{}: neither a run folder nor a sweep folder (no manifest.json or sweep.yaml)",
                                    path.string()));
  if (paths.size() == 1) {
    const fs::path& dir = paths.front();
    const bool sweep = fs::exists(dir / "sweep.yaml");
    const fs::path file = out.empty() ? dir / "report.html" : out;
    write_page(file, sweep ? sweep_page(dir) : run_page(dir, false));
    return file;
  }
  for (const auto& path : paths)
    if (fs::exists(path / "sweep.yaml"))
      throw RecipeError(fmt::format("{}: a sweep folder; a comparison takes run folders (report a sweep alone)",
                                    path.string()));
  fs::path file = out;
  if (file.empty()) {
    const fs::path folder = run::RunStore::new_run_dir("runs", "compare");
    run::claim_output_folder(folder, "compare.json", "--out");
    file = folder / "report.html";
  }
  write_page(file, comparison_page(paths));
  return file;
}

}  // namespace hebbkit::report
