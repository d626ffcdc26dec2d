// npy_close A B RTOL: whether two .npy arrays (float32, float64 or int64, little-endian,
// C order) of one shape agree: max |a - b| <= RTOL * max |a|. Prints the relative
// difference; exits 0 when within, 1 when not, 2 when the files cannot be compared. Kept
// free of torch so that the tests that compare run folders build in seconds.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Array {
  std::string dtype, shape;
  std::vector<double> values;
};

std::string header_value(const std::string& header, const std::string& key) {
  const auto at = header.find("'" + key + "':");
  if (at == std::string::npos) throw std::runtime_error("no '" + key + "' in the header");
  auto begin = header.find_first_not_of(' ', at + key.size() + 3);
  const char open = header[begin];
  const auto end = open == '(' ? header.find(')', begin) + 1 : open == '\'' ? header.find('\'', begin + 1) + 1
                                                                           : header.find(',', begin);
  return header.substr(begin, end - begin);
}

template <class T>
void read_values(const std::string& bytes, std::size_t offset, std::vector<double>& out) {
  const std::size_t n = (bytes.size() - offset) / sizeof(T);
  out.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    T v;
    std::memcpy(&v, bytes.data() + offset + i * sizeof(T), sizeof(T));
    out[i] = static_cast<double>(v);
  }
}

Array read_npy(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string(path) + ": cannot be read");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) throw std::runtime_error(std::string(path) + ": not a .npy file");
  const bool v1 = bytes[6] == 1;
  std::size_t length = 0, start = v1 ? 10 : 12;
  std::memcpy(&length, bytes.data() + 8, v1 ? 2 : 4);
  const std::string header = bytes.substr(start, length);
  if (header_value(header, "fortran_order") != "False") throw std::runtime_error(std::string(path) + ": Fortran order");
  Array a{header_value(header, "descr"), header_value(header, "shape"), {}};
  if (a.dtype == "'<f4'") read_values<float>(bytes, start + length, a.values);
  else if (a.dtype == "'<f8'") read_values<double>(bytes, start + length, a.values);
  else if (a.dtype == "'<i8'") read_values<std::int64_t>(bytes, start + length, a.values);
  else throw std::runtime_error(std::string(path) + ": dtype " + a.dtype + " is not compared");
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: npy_close A.npy B.npy RTOL\n");
    return 2;
  }
  try {
    const Array a = read_npy(argv[1]), b = read_npy(argv[2]);
    if (a.dtype != b.dtype || a.shape != b.shape || a.values.size() != b.values.size()) {
      std::printf("%s %s vs %s %s\n", a.dtype.c_str(), a.shape.c_str(), b.dtype.c_str(), b.shape.c_str());
      return 1;
    }
    double diff = 0, scale = 0;
    for (std::size_t i = 0; i < a.values.size(); ++i) {
      diff = std::max(diff, std::abs(a.values[i] - b.values[i]));
      scale = std::max(scale, std::abs(a.values[i]));
    }
    const double relative = scale > 0 ? diff / scale : diff;
    std::printf("%s: largest difference %.3g of largest value %.3g (relative %.3g)\n", argv[2], diff, scale, relative);
    return std::isfinite(relative) && relative <= std::stod(argv[3]) ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "npy_close: %s\n", e.what());
    return 2;
  }
}
