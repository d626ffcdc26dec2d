#pragma once
// Plugins are built with hidden symbol visibility; the SDK's classes keep default
// visibility so that their vtables and type info (exceptions caught across the plugin
// boundary, dynamic_cast) are the framework library's single copy.
#define HEBBKIT_API __attribute__((visibility("default")))
