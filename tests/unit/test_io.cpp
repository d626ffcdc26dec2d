#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>

#include "support/catch.hpp"
#include <png.h>
#include <torch/types.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/io.hpp"
#include "io/plot.hpp"
#include "support/tiny_data.hpp"

using namespace hebbkit;
using hebbkit::testing::TempDir;
using Catch::Matchers::Contains;

TEST_CASE("npy files round-trip dtype, shape and values", "[io][npy]") {
  TempDir dir("npy");
  for (const auto& t : {torch::randn({3, 5}), torch::arange(7, torch::kInt64), torch::rand({2, 3, 4}, torch::kFloat64),
                        torch::tensor(2.5f), torch::randint(0, 255, {4, 4}, torch::kUInt8)}) {
    io::save_npy(dir / "a.npy", t);
    const auto back = io::load_npy(dir / "a.npy");
    CHECK(back.scalar_type() == t.scalar_type());
    CHECK(back.sizes() == t.sizes());
    CHECK(torch::equal(back, t));
  }
  SECTION("the header is numpy's: 64-byte aligned dict") {
    io::save_npy(dir / "w.npy", torch::zeros({2, 3}));
    std::ifstream in(dir / "w.npy", std::ios::binary);
    std::string head(128, '\0');
    in.read(head.data(), 128);
    CHECK(head.substr(1, 5) == "NUMPY");
    CHECK_THAT(head, Contains("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
    CHECK(std::filesystem::file_size(dir / "w.npy") == 128 + 6 * 4);
  }
  SECTION("damaged files") {
    testing::write_bytes(dir / "bad.npy", {'x', 'y'});
    CHECK_THROWS_WITH(io::load_npy(dir / "bad.npy"), Contains("bad.npy: not a .npy file"));
    io::save_npy(dir / "t.npy", torch::zeros({100}));
    std::filesystem::resize_file(dir / "t.npy", 200);
    CHECK_THROWS_WITH(io::load_npy(dir / "t.npy"), Contains("t.npy: truncated .npy data"));
  }
  SECTION("headers that would take unbounded memory are refused before it is taken") {
    const auto npy = [&](const std::string& name, const std::string& header) {
      std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
      const std::string padded = header + std::string(118 - header.size(), ' ') + "\n";
      bytes += static_cast<char>(padded.size() & 0xff);
      bytes += static_cast<char>(padded.size() >> 8);
      bytes += padded;
      testing::write_bytes(dir / name, std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
      return dir / name;
    };
    CHECK_THROWS_WITH(io::load_npy(npy("huge.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 100000), }")),
                      Contains("huge.npy: truncated .npy data: shape (100000000000, 100000) needs"));
    CHECK_THROWS_WITH(io::load_npy(npy("wrap.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }")),
                      Contains("wrap.npy: .npy shape (4294967296, 4294967296) is larger than any file"));
    CHECK_THROWS_WITH(io::load_npy(npy("neg.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (-3, 2), }")),
                      Contains("neg.npy: .npy shape has a bad dimension '-3'"));
    std::vector<std::uint8_t> long_header = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff, 0xff, 0x7f};
    testing::write_bytes(dir / "long.npy", long_header);
    CHECK_THROWS_WITH(io::load_npy(dir / "long.npy"), Contains("long.npy: .npy header claims 2147483647 bytes"));
  }
}

TEST_CASE("PNG images are written with the right size and format", "[io][png]") {
  TempDir dir("png");
  const auto images = torch::rand({10, 3, 8, 6});
  const auto tiled = io::tile_images(images, 4, 1);
  REQUIRE(tiled.sizes() == torch::IntArrayRef{3 * 9 + 1, 4 * 7 + 1, 3});
  io::save_png(dir / "t.png", tiled);
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  REQUIRE(png_image_begin_read_from_file(&image, (dir / "t.png").c_str()));
  CHECK(image.width == 29);
  CHECK(image.height == 28);
  CHECK((image.format & PNG_FORMAT_FLAG_COLOR) != 0);
  png_image_free(&image);
  CHECK(io::tile_images(torch::rand({3, 1, 5, 5}), 8).sizes() == torch::IntArrayRef{7, 19});
  CHECK_THROWS_WITH(io::save_png(dir / "x.png", torch::zeros({2, 2})), Contains("needs uint8"));
}

TEST_CASE("write_atomic replaces whole files and leaves no temporaries", "[io]") {
  TempDir dir("atomic");
  io::write_atomic(dir / "f.txt", "first");
  io::write_atomic(dir / "f.txt", "second");
  std::ifstream in(dir / "f.txt");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  CHECK(text == "second");
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);
  CHECK_THROWS_WITH(io::write_atomic(dir / "missing/f.txt", "x"), Contains("cannot write"));
}

namespace {
// Runs `write` in a child process whose files may not grow past `limit` bytes (a disk that
// fills up), SIGXFSZ ignored so that the write fails with EFBIG; returns what it threw.
std::string under_file_size_limit(std::size_t limit, const std::function<void()>& write) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit small{limit, limit};
    ::setrlimit(RLIMIT_FSIZE, &small);
    std::string what = "(no error)";
    try {
      write();
    } catch (const std::exception& e) {
      what = e.what();
    }
    [[maybe_unused]] const auto n = ::write(fds[1], what.data(), what.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string what;
  char buffer[512];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) what.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return what;
}
}  // namespace

TEST_CASE("a write cut short by a full disk puts nothing in place and leaves no temporary", "[io][errors]") {
  TempDir dir("atomic_full");
  io::write_atomic(dir / "keep.txt", "the earlier version");
  const std::string error =
      under_file_size_limit(1000, [&] { io::write_atomic(dir / "keep.txt", std::string(100000, 'x')); });
  CHECK_THAT(error, Contains("keep.txt: write failed: File too large"));
  std::ifstream in(dir / "keep.txt");
  CHECK(std::string((std::istreambuf_iterator<char>(in)), {}) == "the earlier version");
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);  // no .tmp left

  // gnuplot, cut short the same way, says nothing: the PNG is checked before it goes into place.
  io::Series s{"loss", {0, 1, 2}, {1.0, 0.5, 0.25}};
  const std::string chart = under_file_size_limit(
      3000, [&] { io::plot_panels(dir / "c.png", {io::Panel{"head loss", "epoch", "loss", {s}, true}}); });
  CHECK_THAT(chart, Contains("c.png"));
  CHECK_FALSE(std::filesystem::exists(dir / "c.png"));
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
}

TEST_CASE("line charts render through gnuplot", "[io][plot]") {
  TempDir dir("plot");
  io::Series s{"loss", {0, 1, 2}, {1.0, 0.5, 0.25}};
  io::plot_panels(dir / "c.png", {io::Panel{"head loss", "epoch", "loss", {s}, true}});
  REQUIRE(std::filesystem::exists(dir / "c.png"));
  CHECK(std::filesystem::file_size(dir / "c.png") > 1000);
}

TEST_CASE("a chart that cannot be written names the folder, not gnuplot", "[io][plot]") {
  TempDir dir("plot_nowhere");
  io::Series s{"loss", {0, 1}, {1.0, 0.5}};
  CHECK_THROWS_WITH(io::plot_panels(dir / "missing/c.png", {io::Panel{"loss", "epoch", "loss", {s}, false}}),
                    Contains("cannot write the chart's data file") && Contains("No such file or directory") &&
                        !Contains("gnuplot"));
}

TEST_CASE("no path or title reaches a shell or gnuplot's substitution", "[io][plot][security]") {
  TempDir dir("plot_hostile");
  // Quotes, $(), backticks, spaces, a newline and gnuplot's own markup in the folder and the texts.
  const std::string hostile = "a b'c\"d$(touch PWNED1)`touch PWNED2`;touch PWNED3;\ne_f^{g}";
  const auto folder = dir.path() / hostile;
  std::filesystem::create_directories(folder);
  io::Series s{hostile, {0, 1, 2}, {1.0, 0.5, 0.25}};
  io::plot_panels(folder / "chart.png", {io::Panel{hostile, "epoch `touch PWNED4`", "loss 'x'", {s}, false}});
  CHECK(std::filesystem::file_size(folder / "chart.png") > 1000);
  for (const char* name : {"PWNED1", "PWNED2", "PWNED3", "PWNED4"}) {
    CHECK_FALSE(std::filesystem::exists(dir.path() / name));
    CHECK_FALSE(std::filesystem::exists(folder / name));
    CHECK_FALSE(std::filesystem::exists(name));
  }
}
