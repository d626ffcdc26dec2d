#pragma once
// Catch2 for every test file: include this, not <catch2/catch.hpp>. torch's headers bring
// glog, whose CHECK(condition) replaces Catch2's CHECK(...) when it comes later; taking
// glog first (its include guard keeps it from coming again) leaves Catch2's in force, in
// a file alone as in a unity unit of several.
#include <c10/util/Logging.h>

#include <catch2/catch.hpp>
