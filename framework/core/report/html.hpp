#pragma once
// The pieces of hebbkit's HTML reports: escaping, embedded images, tables and one page
// shell with its stylesheet. A page is a single file: no server, no network, no script it
// needs to be read (scripts only sort tables and keep a live page's scroll position).
#include <filesystem>
#include <string>
#include <vector>

namespace hebbkit::report {

/// Text for HTML content and attribute values (& < > " ').
std::string escape(const std::string& text);

/// A PNG file as an <img> with a data: URI, or "" when it cannot be read.
std::string embed_png(const std::filesystem::path& file, const std::string& alt);

/// A table; cells are HTML already (escape text first). A sortable table sorts by a
/// column when its header is clicked (a cell's data-sort, else its text; numbers as numbers).
std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                  bool sortable = false);

/// Two columns, key and value; values are HTML.
std::string facts(const std::vector<std::pair<std::string, std::string>>& rows);

/// A number as the page shows it, with the exact value kept in data attributes, so that a
/// check (tests/unit/test_report.cpp) can compare it with summary.json: <span
/// data-summary="key" data-value="0.9781">97.81%</span>.
std::string summary_number(const std::string& key, double value, bool percent);

class Page {
 public:
  /// `live`: the page reloads itself every few seconds, keeping its scroll position.
  Page(std::string title, bool live) : title_(std::move(title)), live_(live) {}
  void section(const std::string& id, const std::string& heading, const std::string& html);
  void raw(const std::string& html) { body_ += html; }
  std::string html() const;

 private:
  std::string title_;
  bool live_;
  std::string body_;
  std::vector<std::pair<std::string, std::string>> contents_;  // id, heading
};

}  // namespace hebbkit::report
