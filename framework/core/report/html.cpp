#include "report/html.hpp"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace hebbkit::report {
namespace fs = std::filesystem;

namespace {

std::string base64(const std::string& bytes) {
  static const char* digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += {digits[v >> 18], digits[(v >> 12) & 63], digits[(v >> 6) & 63], digits[v & 63]};
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += {digits[v >> 18], digits[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += {digits[v >> 18], digits[(v >> 12) & 63], digits[(v >> 6) & 63], '='};
  }
  return out;
}

// Print-friendly and readable on a laptop; charts keep their aspect and never split a page.
constexpr const char* style = R"(
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:0 auto;max-width:1180px;padding:16px 24px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:3px}
h3{font-size:14px;margin:16px 0 6px}nav{font-size:13px;color:#555}nav a{margin-right:12px;color:#245}
table{border-collapse:collapse;margin:6px 0;font-size:13px}td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}table.sortable th{cursor:pointer}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f7f7f7;border:1px solid #e4e4e4;padding:8px;overflow-x:auto;font-size:12px;white-space:pre-wrap}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;color:#fff;background:#777}
.completed{background:#2a7d3b}.failed{background:#b3261e}.running{background:#1f5fa8}.interrupted,.killed{background:#a15c00}.pruned{background:#6b5b95}
.charts{display:flex;flex-wrap:wrap;gap:10px}.charts svg{border:1px solid #eee;background:#fff}
.images img{max-width:100%;border:1px solid #eee;margin:4px 0;image-rendering:pixelated}
.note{color:#555;font-size:12px}.error{color:#b3261e;font-weight:600}
@media print{nav,.live{display:none}svg,img,table{break-inside:avoid}body{max-width:none}}
)";

constexpr const char* sort_script = R"(<script>
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,col){
    th.addEventListener('click',function(){
      var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows),up=th.dataset.dir!=='up';
      t.querySelectorAll('th').forEach(function(h){delete h.dataset.dir});th.dataset.dir=up?'up':'down';
      function key(r){var c=r.cells[col];var v=c.dataset.sort!==undefined?c.dataset.sort:c.textContent.trim();var n=parseFloat(v);return isNaN(n)?v:n}
      rows.sort(function(a,b){var x=key(a),y=key(b);if(typeof x!==typeof y){x=String(x);y=String(y)}return (x<y?-1:x>y?1:0)*(up?1:-1)});
      rows.forEach(function(r){body.appendChild(r)});
    });
  });
});
</script>)";

// A live page reloads itself; the scroll position survives the reload.
constexpr const char* live_script = R"(<script>
(function(){var k='hebbkit-scroll:'+location.pathname;
addEventListener('load',function(){var y=sessionStorage.getItem(k);if(y!==null)scrollTo(0,+y)});
addEventListener('scroll',function(){sessionStorage.setItem(k,String(scrollY))});})();
</script>)";

}  // namespace

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string embed_png(const fs::path& file, const std::string& alt) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "";
  std::ostringstream bytes;
  bytes << in.rdbuf();
  const std::string data = bytes.str();
  if (data.size() < 8 || data.compare(1, 3, "PNG") != 0) return "";
  return fmt::format("<img src=\"data:image/png;base64,{}\" alt=\"{}\">", base64(data), escape(alt));
}

std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                  bool sortable) {
  std::string out = sortable ? "<table class=\"sortable\"><thead><tr>" : "<table><thead><tr>";
  for (const auto& h : header) out += "<th>" + escape(h) + "</th>";
  out += "</tr></thead><tbody>\n";
  for (const auto& row : rows) {
    out += "<tr>";
    for (const auto& cell : row) out += cell.rfind("<td", 0) == 0 ? cell : "<td>" + cell + "</td>";
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

std::string facts(const std::vector<std::pair<std::string, std::string>>& rows) {
  std::string out = "<table>";
  for (const auto& [key, value] : rows) out += "<tr><th>" + escape(key) + "</th><td>" + value + "</td></tr>\n";
  return out + "</table>\n";
}

std::string summary_number(const std::string& key, double value, bool percent) {
  return fmt::format("<span data-summary=\"{}\" data-value=\"{}\">{}</span>", escape(key), value,
                     percent ? fmt::format("{:.2f}%", 100 * value) : fmt::format("{:.4g}", value));
}

void Page::section(const std::string& id, const std::string& heading, const std::string& html) {
  contents_.emplace_back(id, heading);
  body_ += fmt::format("<h2 id=\"{}\">{}</h2>\n{}\n", escape(id), escape(heading), html);
}

std::string Page::html() const {
  std::string out = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  out += "<meta name=\"generator\" content=\"hebbkit\">\n";  // a later report may replace this file
  if (live_) out += "<meta http-equiv=\"refresh\" content=\"5\">\n";
  out += "<title>" + escape(title_) + "</title>\n<style>" + style + "</style></head><body>\n";
  out += "<h1>" + escape(title_) + "</h1>\n";
  if (live_) out += "<p class=\"live note\">This page is being rewritten while the work goes on; it reloads every 5 s.</p>\n";
  out += "<nav>";
  for (const auto& [id, heading] : contents_) out += fmt::format("<a href=\"#{}\">{}</a>", escape(id), escape(heading));
  out += "</nav>\n" + body_;
  out += sort_script;
  if (live_) out += live_script;
  return out + "\n</body></html>\n";
}

}  // namespace hebbkit::report
