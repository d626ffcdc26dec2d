#pragma once
// `hebbkit report`: one self-contained HTML page for a run folder, several run folders (a
// comparison) or a sweep folder, written as report.html. Charts are inline SVG, images are
// embedded; the page needs no server, network or script to be read. `run` and `sweep`
// rewrite their page while they work (live pages reload themselves every few seconds).
#include <filesystem>
#include <string>
#include <vector>

#include "sweep/report.hpp"

namespace hebbkit::report {

/// A run folder's page: summary, stages and their times, learning curves per layer and
/// head, figures, robustness curves, the recipe (and how it differs from its file) and
/// the manifest. `live`: the run is still going.
std::string run_page(const std::filesystem::path& dir, bool live);

/// Several runs side by side: their numbers, curves overlaid, how their recipes differ.
std::string comparison_page(const std::vector<std::filesystem::path>& dirs);

/// A sweep's page from its rows as the driver holds them (or as read back): trials
/// (sortable), the objective over trials and against each parameter, pruned and failed
/// trials with their reasons, the best recipe. A `running` sweep's page is live.
std::string sweep_page(const sweep::Folder& folder, const sweep::Spec& spec, const std::vector<sweep::Row>& rows,
                       run::RunStatus status);
/// The same, reading the sweep folder.
std::string sweep_page(const std::filesystem::path& dir);

/// Writes `html` to `file` atomically.
void write_page(const std::filesystem::path& file, const std::string& html);

/// What `hebbkit report PATH...` writes: one path, a run or sweep folder -> PATH/report.html
/// (or `out`); several run folders -> a comparison at `out` (default
/// runs/<time>-compare/report.html). Throws RecipeError for a path that is neither.
std::filesystem::path write_report(const std::vector<std::filesystem::path>& paths, const std::filesystem::path& out);

}  // namespace hebbkit::report
