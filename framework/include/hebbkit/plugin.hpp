#pragma once
// How a plugin fills its manifest (hebbkit/manifest.hpp), and the one macro that registers it.
//
//   class MyRule final : public hebbkit::Rule {
//    public:
//     static constexpr const char* name = "my_rule";
//     static constexpr const char* summary = "one line for `hebbkit plugins`";
//     struct Config {                                  // its parameters (hebbkit/config.hpp)
//       double p = hebbkit::param("p", 3.0, "power of the norm").at_least(2);
//     };
//     explicit MyRule(const Config& config);           // or (const Config&, const hebbkit::Params&)
//     ...
//   };
//   HEBBKIT_PLUGIN(MyRule)
//
// A plugin without parameters leaves Config out and has a default constructor. The second
// constructor argument, the recipe node, is for checks across keys: params.fail("k", "...")
// names the recipe's file, line and key. The kind (rule, head, dataset, attack) follows from
// the base class. Include the interface the plugin implements (hebbkit/rule.hpp, head.hpp,
// dataset.hpp or attack.hpp), or hebbkit/hebbkit.hpp for all of the SDK; this header needs
// none of them, so a dataset or an attack does not recompile when the rule or head
// interface changes.
#include <memory>
#include <type_traits>

#include <boost/config.hpp>

#include "hebbkit/config.hpp"
#include "hebbkit/manifest.hpp"

namespace hebbkit {

namespace detail {
template <class T, class = void>
struct has_config : std::false_type {};
template <class T>
struct has_config<T, std::void_t<typename T::Config>> : std::true_type {};

// T built from a validated recipe node.
template <class T>
std::unique_ptr<T> make_plugin(const Params& params) {
  if constexpr (!has_config<T>::value) {
    return std::make_unique<T>();
  } else {
    using Config = typename T::Config;
    if constexpr (std::is_constructible_v<T, const Config&, const Params&>)
      return std::make_unique<T>(read_config<Config>(params), params);
    else
      return std::make_unique<T>(read_config<Config>(params));
  }
}
}  // namespace detail

template <class T>
Manifest make_manifest() {
  Manifest m;
  m.name = T::name;
  m.summary = T::summary;
  if constexpr (detail::has_config<T>::value) m.schema = schema_of<typename T::Config>();
  auto make = [](const Params& p) { return detail::make_plugin<T>(p); };
  // std::is_base_of needs T complete, not the interfaces: those T does not derive from may
  // be only declared (manifest.hpp) here.
  if constexpr (std::is_base_of_v<Rule, T>) {
    m.kind = PluginKind::Rule;
    m.make_rule = make;
  } else if constexpr (std::is_base_of_v<Head, T>) {
    m.kind = PluginKind::Head;
    m.make_head = make;
  } else if constexpr (std::is_base_of_v<Dataset, T>) {
    m.kind = PluginKind::Dataset;
    m.make_dataset = make;
  } else {
    static_assert(std::is_base_of_v<Attack, T>,
                  "HEBBKIT_PLUGIN needs a Rule, Head, Dataset or Attack");
    m.kind = PluginKind::Attack;
    m.make_attack = make;
  }
  return m;
}

}  // namespace hebbkit

// Two C symbols: the API version first (read before the manifest's layout is trusted),
// then the manifest itself. Thin on purpose; it changes nothing around it.
#define HEBBKIT_PLUGIN(PluginClass)                                                   \
  extern "C" BOOST_SYMBOL_EXPORT const int hebbkit_api_version = HEBBKIT_API_VERSION; \
  extern "C" BOOST_SYMBOL_EXPORT const ::hebbkit::Manifest* hebbkit_manifest() {      \
    static const ::hebbkit::Manifest manifest = ::hebbkit::make_manifest<PluginClass>(); \
    return &manifest;                                                                 \
  }
