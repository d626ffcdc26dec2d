// The one JSON mapping of the run records (run_records.hpp). Reading is lenient where old
// folders differ (a key they lack keeps its default) and strict where a value is wrong (a
// field of another type, an unknown status, a newer schema), naming the key.
#include "run/run_records.hpp"

#include "run/run_lock.hpp"

#include <signal.h>

#include <cerrno>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

#include "system/system_info.hpp"

namespace hebbkit::run {
using nlohmann::json;

namespace {

constexpr std::pair<RunStatus, const char*> status_names[] = {
    {RunStatus::Running, "running"}, {RunStatus::Completed, "completed"},     {RunStatus::Failed, "failed"},
    {RunStatus::Interrupted, "interrupted"}, {RunStatus::Pruned, "pruned"}, {RunStatus::Killed, "killed"},
};

RunStatus parse_status(const json& value) {
  const auto text = value.get<std::string>();
  for (const auto& [status, name] : status_names)
    if (text == name) return status;
  throw std::runtime_error(fmt::format("'{}' is not a run status (running, completed, failed, interrupted, pruned, killed)",
                                       text));
}

template <class T> struct is_optional : std::false_type {};
template <class T> struct is_optional<std::optional<T>> : std::true_type {};
template <class T, class = void> struct has_empty : std::false_type {};
template <class T> struct has_empty<T, std::void_t<decltype(std::declval<const T&>().empty())>> : std::true_type {};

// in[key] into out when present and not null; a value of the wrong type fails naming the key.
template <class T>
void read(const json& in, const char* key, T& out) {
  const auto it = in.find(key);
  if (it == in.end() || it->is_null()) return;
  try {
    if constexpr (std::is_same_v<T, RunStatus>) {
      out = parse_status(*it);
    } else {
      it->get_to(out);
    }
  } catch (const std::exception& e) {
    throw std::runtime_error(fmt::format("{}: {}", key, e.what()));
  }
}

template <class T>
void read(const json& in, const char* key, std::optional<T>& out) {
  if (const auto it = in.find(key); it != in.end() && !it->is_null()) {
    T value{};
    read(in, key, value);
    out = std::move(value);
  }
}


FolderKind read_kind(const json& in) {
  std::string kind = "run";
  read(in, "kind", kind);
  if (kind == "run") return FolderKind::Run;
  if (kind == "sweep") return FolderKind::Sweep;
  throw std::runtime_error(fmt::format("kind: '{}' is neither run nor sweep", kind));
}

int read_schema(const json& in) {
  int schema = 1;  // folders written before the typed records carry no schema
  read(in, "schema", schema);
  if (schema > records_schema)
    throw std::runtime_error(fmt::format("schema {} was written by a newer hebbkit (this one reads up to {})", schema,
                                         records_schema));
  return schema;
}

const char* kind_text(FolderKind kind) { return kind == FolderKind::Sweep ? "sweep" : "run"; }

}  // namespace

const char* to_string(RunStatus status) {
  for (const auto& [s, name] : status_names)
    if (s == status) return name;
  return "?";
}

bool is_final(RunStatus status) {
  return status == RunStatus::Completed || status == RunStatus::Failed || status == RunStatus::Pruned;
}

namespace {

// The small records' keys, each listed once for both directions.
template <class R, class F>
void resumption_fields(R& r, F&& field) {
  field("at", r.at), field("pid", r.pid), field("host", r.host), field("threads", r.threads);
  field("command_line", r.command_line), field("processes", r.processes);
}
template <class R, class F>
void data_parallel_fields(R& d, F&& field) {
  field("processes", d.processes), field("backend", d.backend), field("hosts", d.hosts);
}
template <class R, class F>
void reused_fields(R& r, F&& field) {
  field("run", r.run), field("layers", r.layers), field("readouts_changed", r.readouts_changed);
}
template <class R, class F>
void plugin_fields(R& p, F&& field) {
  field("path", p.path), field("name", p.name), field("kind", p.kind), field("file", p.file);
  field("sha256", p.sha256);
}
template <class R, class F>
void data_fields(R& d, F&& field) {
  field("train", d.train), field("validation", d.validation), field("test", d.test), field("classes", d.classes);
  field("root", d.root);
}
template <class R, class F>
void attack_fields(R& a, F&& field) {
  field("attack", a.attack), field("norm", a.norm), field("images", a.images), field("epsilons", a.epsilons);
  field("accuracy", a.accuracy), field("clean_accuracy", a.clean_accuracy);
  field("zero_gradient_fraction", a.zero_gradient_fraction);
}
template <class R, class F>
void best_fields(R& b, F&& field) {
  field("trial", b.trial), field("value", b.value), field("params", b.params);
}

struct Writer {
  json& out;
  template <class T>
  void operator()(const char* key, const T& value) const { out[key] = value; }
};
struct Reader {
  const json& in;
  template <class T>
  void operator()(const char* key, T& value) const { read(in, key, value); }
};

}  // namespace

#define HEBBKIT_RECORD_JSON(Type, fields)                                          \
  void to_json(json& out, const Type& r) { out = json::object(), fields(r, Writer{out}); } \
  void from_json(const json& in, Type& r) { fields(r, Reader{in}); }

HEBBKIT_RECORD_JSON(Resumption, resumption_fields)
HEBBKIT_RECORD_JSON(DataParallel, data_parallel_fields)
HEBBKIT_RECORD_JSON(ReusedLayers, reused_fields)
HEBBKIT_RECORD_JSON(PluginRecord, plugin_fields)
HEBBKIT_RECORD_JSON(DataCounts, data_fields)
HEBBKIT_RECORD_JSON(SweepBest, best_fields)
#undef HEBBKIT_RECORD_JSON

void to_json(json& out, const AttackRecord& a) {
  out = json::object();
  attack_fields(a, Writer{out});
  if (a.zero_gradient_fraction.empty()) out.erase("zero_gradient_fraction");  // attacks without a gradient
}
void from_json(const json& in, AttackRecord& a) { attack_fields(a, Reader{in}); }

namespace {

// The keys every manifest has, then a run's and a sweep's; a summary's likewise. Absent
// optionals and empty lists are left out when written (except a manifest's `ended`).
template <class R, class F>
void life_fields(R& m, F&& field) {
  field("schema", m.schema), field("status", m.status), field("host", m.host), field("pid", m.pid);
  field("started", m.started), field("ended", m.ended), field("error", m.error);
  field("command_line", m.command_line);
}
template <class R, class F>
void run_manifest_fields(R& m, F&& field) {
  field("hebbkit_version", m.hebbkit_version), field("api_version", m.api_version);
  field("git_commit", m.git_commit), field("libtorch_version", m.libtorch_version), field("blas", m.blas);
  field("blas_core", m.blas_core), field("device", m.device), field("threads", m.threads);
  field("data_parallel", m.data_parallel), field("seed", m.seed);
  field("recipe", m.recipe), field("overrides", m.overrides), field("plugins", m.plugins);
  field("parent", m.parent), field("reused", m.reused), field("resumed", m.resumed);
}
template <class R, class F>
void sweep_manifest_fields(R& m, F&& field) {
  field("executor", m.executor), field("jobs", m.jobs), field("threads_per_trial", m.threads_per_trial);
}
template <class R, class F>
void summary_fields(R& s, F&& field) {
  field("schema", s.schema), field("status", s.status), field("train_accuracy", s.train_accuracy);
  field("val_accuracy", s.val_accuracy), field("test_accuracy", s.test_accuracy);
}
template <class R, class F>
void run_summary_fields(R& s, F&& field) {
  field("recipe", s.recipe), field("seed", s.seed), field("artifacts", s.artifacts), field("parent", s.parent);
  field("reused", s.reused), field("data", s.data), field("seconds", s.seconds);
  field("stages_done", s.stages_done), field("attacks", s.attacks), field("peak_rss_mib", s.peak_rss_mib);
}
template <class R, class F>
void sweep_summary_fields(R& s, F&& field) {
  field("objective", s.objective), field("mode", s.mode), field("strategy", s.strategy), field("trials", s.trials);
  field("states", s.states), field("over_seeds", s.over_seeds), field("best", s.best);
}

// Writes a field unless it is an absent optional, an empty list or map, or null (strings,
// empty or not, are written).
struct SparseWriter {
  json& out;
  template <class T>
  void operator()(const char* key, const T& value) const {
    if constexpr (std::is_same_v<T, RunStatus>) {
      out[key] = to_string(value);
    } else if constexpr (is_optional<T>::value) {
      if (value) (*this)(key, *value);
    } else if constexpr (has_empty<T>::value && !std::is_same_v<T, std::string>) {
      if (!value.empty()) out[key] = value;
    } else {
      out[key] = value;
    }
  }
};

}  // namespace

void to_json(json& out, const RunManifest& m) {
  out = {{"kind", kind_text(m.kind)}};
  const SparseWriter write{out};
  life_fields(m, write);
  out["ended"] = m.ended ? json(*m.ended) : json(nullptr);  // null while it runs
  if (m.kind == FolderKind::Sweep) {
    sweep_manifest_fields(m, write);
    out["recipe"] = m.recipe.empty() ? std::string() : m.recipe.front();  // a sweep has one recipe file
    return;
  }
  run_manifest_fields(m, write);
  out["overrides"] = m.overrides;  // [] says there were none
}

void from_json(const json& in, RunManifest& m) {
  m = RunManifest{};
  m.kind = read_kind(in);
  if (!in.contains("status")) throw std::runtime_error("status: missing");
  const Reader reader{in};
  life_fields(m, reader);
  m.schema = read_schema(in);
  if (m.kind == FolderKind::Run) return run_manifest_fields(m, reader);
  sweep_manifest_fields(m, reader);
  std::string recipe;
  read(in, "recipe", recipe);
  if (!recipe.empty()) m.recipe = {recipe};
}

void to_json(json& out, const RunSummary& s) {
  out = {{"kind", kind_text(s.kind)}};
  const SparseWriter write{out};
  summary_fields(s, write);
  if (s.kind == FolderKind::Sweep) return sweep_summary_fields(s, write);
  run_summary_fields(s, write);
  out["artifacts"] = s.artifacts;
  if (s.test_accuracy) out["test_error"] = 1.0 - *s.test_accuracy;
}

void from_json(const json& in, RunSummary& s) {
  s = RunSummary{};
  s.kind = read_kind(in);
  const Reader reader{in};
  summary_fields(s, reader);
  s.schema = read_schema(in);
  if (s.kind == FolderKind::Sweep) return sweep_summary_fields(s, reader);
  run_summary_fields(s, reader);
}

RunStatus RunManifest::live_status(const std::filesystem::path& dir) const {
  if (status != RunStatus::Running) return status;
  // The folder's lock says it for any host that shares the folder, and survives pid reuse.
  if (const auto held = run_lock_held(dir)) return *held ? status : RunStatus::Killed;
  if (pid <= 0 || host != system::host_name()) return status;
  const bool alive = ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
  return alive ? status : RunStatus::Killed;
}

std::optional<double> RunSummary::number(const std::string& name) const {
  if (name == "train_accuracy") return train_accuracy;
  if (name == "val_accuracy") return val_accuracy;
  if (name == "test_accuracy") return test_accuracy;
  if (name == "test_error" && test_accuracy) return 1.0 - *test_accuracy;
  if (name == "peak_rss_mib") return peak_rss_mib;
  return std::nullopt;
}

const std::vector<std::string>& summary_numbers() {
  static const std::vector<std::string> names = {"train_accuracy", "val_accuracy", "test_accuracy", "test_error",
                                                 "peak_rss_mib"};
  return names;
}

std::vector<std::string> RunSummary::numbers() const {
  std::vector<std::string> names;
  for (const auto& name : summary_numbers())
    if (number(name)) names.push_back(name);
  return names;
}

double RunSummary::total_seconds() const {
  double total = 0;
  for (const auto& [stage, seconds] : this->seconds) total += seconds;
  return total;
}

namespace {
// A record is a page of JSON: a device, a pipe or a file of gigabytes in its place is
// refused, not read without end.
json parse_record(const std::filesystem::path& file) {
  constexpr std::uintmax_t limit = std::uintmax_t(64) << 20;
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec)) throw std::runtime_error("not a regular file");
  if (const auto size = std::filesystem::file_size(file, ec); !ec && size > limit)
    throw std::runtime_error(fmt::format("{} bytes, more than a record holds (64 MiB)", size));
  return json::parse(std::ifstream(file));
}
}  // namespace

std::optional<RunManifest> read_manifest(const std::filesystem::path& dir, std::string& why) {
  try {
    const auto in = parse_record(dir / "manifest.json");
    if (!in.is_object()) {
      why = "manifest.json is not a JSON object";
      return std::nullopt;
    }
    return in.get<RunManifest>();
  } catch (const std::exception& e) {
    why = fmt::format("manifest.json: {}", e.what());
    return std::nullopt;
  }
}

std::optional<RunSummary> read_summary(const std::filesystem::path& dir, std::string& why) {
  try {
    if (!std::filesystem::exists(dir / "summary.json")) return RunSummary{};
    return parse_record(dir / "summary.json").get<RunSummary>();
  } catch (const std::exception& e) {
    why = fmt::format("summary.json: {}", e.what());
    return std::nullopt;
  }
}

RunSummary read_summary(const std::filesystem::path& dir) {
  std::string why;
  return read_summary(dir, why).value_or(RunSummary{});
}

}  // namespace hebbkit::run
