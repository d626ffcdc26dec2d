// A library that claims to be a plugin built for API version 999: the host must refuse
// it before touching its manifest.
#include <boost/config.hpp>

extern "C" BOOST_SYMBOL_EXPORT const int hebbkit_api_version = 999;
extern "C" BOOST_SYMBOL_EXPORT const void* hebbkit_manifest() { return nullptr; }
