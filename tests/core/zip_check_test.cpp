// CRC-32 and zip integrity (zip_check.h), against the standard check value and archives written by
// LibTorch's own serializer (the format of every rlpp checkpoint).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <sstream>

#include "rlpp/core/zip_check.h"

namespace rlpp::core {
namespace {

TEST(ZipCheck, Crc32MatchesTheStandardCheckValue) {
  // The CRC-32/ISO-HDLC check value of "123456789" (the zlib/zip polynomial).
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32(""), 0u);
  // Incremental: crc(ab) = crc(b, crc(a)).
  EXPECT_EQ(crc32("6789", crc32("12345")), 0xCBF43926u);
}

std::string torch_archive() {
  torch::serialize::OutputArchive a;
  a.write("weights", torch::arange(0, 4096, torch::kFloat32));
  a.write("counters", torch::tensor({1, 2, 3}, torch::kInt64));
  std::ostringstream out;
  a.save_to(out);
  return out.str();
}

TEST(ZipCheck, IntactLibTorchArchivePasses) { EXPECT_EQ(zip_integrity_error(torch_archive()), ""); }

TEST(ZipCheck, FlippedTensorBytesAreFoundAndNamed) {
  std::string z = torch_archive();
  // The 16 KiB float tensor is most of the archive: its middle is tensor data.
  for (size_t i = z.size() / 2; i < z.size() / 2 + 16; ++i) z[i] = static_cast<char>(~z[i]);
  const std::string e = zip_integrity_error(z);
  EXPECT_NE(e.find("CRC-32 mismatch"), std::string::npos) << e;
  EXPECT_NE(e.find("data/"), std::string::npos) << e;  // the entry holding the tensor's storage
}

TEST(ZipCheck, TruncatedOrForeignBytesAreRefused) {
  const std::string z = torch_archive();
  EXPECT_NE(zip_integrity_error(z.substr(0, z.size() / 2)), "");
  EXPECT_NE(zip_integrity_error(z.substr(0, 10)), "");
  EXPECT_NE(zip_integrity_error(std::string(4096, 'x')), "");
}

}  // namespace
}  // namespace rlpp::core
