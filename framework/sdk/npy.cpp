// NumPy .npy format, version 1.0: magic, header length, a Python dict literal, raw data.
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/types.h>

#include "hebbkit/errors.hpp"
#include "hebbkit/io.hpp"

namespace hebbkit::io {
namespace fs = std::filesystem;
namespace {

struct DtypeCode {
  torch::ScalarType type;
  const char* descr;
};
const DtypeCode dtype_codes[] = {
    {torch::kFloat32, "<f4"}, {torch::kFloat64, "<f8"}, {torch::kInt64, "<i8"},
    {torch::kInt32, "<i4"},   {torch::kUInt8, "|u1"},   {torch::kBool, "|b1"},
};

}  // namespace

void save_npy(const fs::path& file, const torch::Tensor& tensor) {
  const torch::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
  const char* descr = nullptr;
  for (const auto& code : dtype_codes)
    if (code.type == t.scalar_type()) descr = code.descr;
  if (!descr) throw std::invalid_argument(fmt::format("{}: cannot save dtype {} as .npy", file.string(),
                                                      c10::toString(t.scalar_type())));
  std::string shape;
  for (auto d : t.sizes()) shape += std::to_string(d) + ", ";
  if (t.dim() > 1) shape.erase(shape.size() - 2);
  else if (t.dim() == 1) shape.erase(shape.size() - 1);
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': ({}), }}", descr, shape);
  // Pad so that the data starts at a multiple of 64 bytes, as numpy does.
  const std::size_t unpadded = 10 + header.size() + 1;
  header += std::string((64 - unpadded % 64) % 64, ' ') + "\n";

  std::string content = "\x93NUMPY";
  content += '\x01';
  content += '\x00';
  const auto len = static_cast<std::uint16_t>(header.size());
  content += static_cast<char>(len & 0xff);
  content += static_cast<char>(len >> 8);
  content += header;
  content.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  write_atomic(file, content);
}

torch::Tensor load_npy(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw DataError(fmt::format("{}: cannot open .npy file", file.string()));
  char magic[8];
  in.read(magic, 8);
  if (!in || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw DataError(fmt::format("{}: not a .npy file (bad magic)", file.string()));
  std::uint32_t header_len = 0;
  if (magic[6] == 1) {
    unsigned char b[2];
    in.read(reinterpret_cast<char*>(b), 2);
    header_len = b[0] | (b[1] << 8);
  } else {
    unsigned char b[4];
    in.read(reinterpret_cast<char*>(b), 4);
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
  }
  // Headers are a line of Python literal; a length beyond that is a damaged file, not a reason to allocate.
  if (header_len > (1u << 20))
    throw DataError(fmt::format("{}: .npy header claims {} bytes; a damaged file", file.string(), header_len));
  std::string header(header_len, '\0');
  in.read(header.data(), header_len);
  if (!in) throw DataError(fmt::format("{}: truncated .npy header", file.string()));

  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([^']+)'")))
    throw DataError(fmt::format("{}: .npy header has no descr", file.string()));
  const std::string descr = m[1];
  if (std::regex_search(header, std::regex("'fortran_order':\\s*True")))
    throw DataError(fmt::format("{}: Fortran-ordered .npy arrays are not supported", file.string()));
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")))
    throw DataError(fmt::format("{}: .npy header has no shape", file.string()));
  std::vector<std::int64_t> shape;
  std::stringstream dims(m[1].str());
  for (std::string d; std::getline(dims, d, ',');) {
    const auto first = d.find_first_not_of(' ');
    if (first == std::string::npos) continue;
    const auto last = d.find_last_not_of(' ');
    const std::string digits = d.substr(first, last - first + 1);
    if (digits.empty() || digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos)
      throw DataError(fmt::format("{}: .npy shape has a bad dimension '{}'", file.string(), digits));
    shape.push_back(std::stoll(digits));
  }

  torch::ScalarType type{};
  bool found = false;
  for (const auto& code : dtype_codes)
    if (descr == code.descr) type = code.type, found = true;
  if (!found) throw DataError(fmt::format("{}: unsupported .npy dtype '{}'", file.string(), descr));

  // The data must be in the file before memory is taken for it (and the product must not wrap).
  std::uint64_t expected = c10::elementSize(type);
  for (const auto d : shape)
    if (__builtin_mul_overflow(expected, static_cast<std::uint64_t>(d), &expected))
      throw DataError(fmt::format("{}: .npy shape ({}) is larger than any file", file.string(), fmt::join(shape, ", ")));
  const auto data_start = static_cast<std::uint64_t>(in.tellg());
  std::error_code ec;
  const std::uint64_t size = fs::file_size(file, ec);
  if (!ec && data_start + expected > size)
    throw DataError(fmt::format("{}: truncated .npy data: shape ({}) needs {} bytes, found {}", file.string(),
                                fmt::join(shape, ", "), expected, size - data_start));
  torch::Tensor t = torch::empty(shape, torch::TensorOptions().dtype(type));
  const std::streamsize bytes = t.numel() * t.element_size();
  in.read(static_cast<char*>(t.data_ptr()), bytes);
  if (in.gcount() != bytes)
    throw DataError(fmt::format("{}: truncated .npy data: expected {} bytes, found {}", file.string(), bytes,
                                in.gcount()));
  return t;
}

}  // namespace hebbkit::io
