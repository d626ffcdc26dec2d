#include "report/report.hpp"

#include <fstream>

#include <fmt/format.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/files.hpp"
#include "run/run_records.hpp"
#include "run/run_store.hpp"

namespace hebbkit::report {
namespace fs = std::filesystem;

void write_page(const fs::path& file, const std::string& html) { io::write_atomic(file, html); }

namespace {
// `--out FILE`: a new file (its folder made), or a page hebbkit wrote before; never a file of the user's.
void claim_page(const fs::path& file) {
  std::error_code ec;
  if (fs::is_directory(file, ec))
    throw RecipeError(fmt::format("--out {}: is a folder; give the page's file name (e.g. {}/report.html)", file.string(),
                                  file.string()));
  if (fs::exists(file, ec) && !fs::is_regular_file(file, ec))
    throw RecipeError(fmt::format("--out {}: not a regular file; give the page's file name", file.string()));
  if (fs::exists(file, ec)) {
    std::ifstream in(file);
    std::string head(512, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    if (head.find("<meta name=\"generator\" content=\"hebbkit\">") == std::string::npos)
      throw RecipeError(fmt::format("--out {}: exists and was not written by hebbkit; nothing of yours is overwritten",
                                    file.string()));
  }
  if (file.has_parent_path()) {
    fs::create_directories(file.parent_path(), ec);
    if (ec) throw RecipeError(fmt::format("--out {}: cannot create its folder: {}", file.string(), ec.message()));
  }
}
}  // namespace

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
    claim_page(file);
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
  claim_page(file);
  write_page(file, comparison_page(paths));
  return file;
}

}  // namespace hebbkit::report
