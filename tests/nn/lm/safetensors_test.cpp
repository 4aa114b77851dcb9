// Safetensors files built byte by byte in this file (the format as the specification writes it)
// are read back value by value; files written here are decoded by hand; every corruption is
// rejected with a message naming the file, the tensor and the problem.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "rlpp/core/error.h"
#include "rlpp/nn/lm/safetensors.h"

namespace rlpp::nn::lm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string test_dir(const std::string& name) {
  const std::string d = ::testing::TempDir() + "lm_safetensors_" + name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// [u64 LE header size][header][data]
std::string file_bytes(const std::string& header, const std::string& data) { return le64(header.size()) + header + data; }

std::string write(const std::string& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

template <typename T>
std::string raw(std::initializer_list<T> values) {
  std::string s;
  for (T v : values) s.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return s;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Expects read_safetensors(path) to throw a UserError whose message has every one of `parts`.
void expect_rejected(const std::string& path, std::initializer_list<std::string> parts) {
  try {
    read_safetensors(path);
    FAIL() << "accepted " << path;
  } catch (const core::UserError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
  }
}

TEST(LmSafetensors, ReadsEveryDtypeFromHandBuiltFile) {
  const std::string dir = test_dir("dtypes");
  std::string data;
  json header;
  auto add = [&](const std::string& name, const std::string& dtype, std::vector<int64_t> shape, const std::string& bytes) {
    header[name] = {{"dtype", dtype}, {"shape", shape}, {"data_offsets", {data.size(), data.size() + bytes.size()}}};
    data += bytes;
  };
  add("f64", "F64", {2}, raw<double>({1.5, -2.25}));
  add("f32", "F32", {2, 2}, raw<float>({1.0f, 2.0f, 3.0f, -4.5f}));
  add("f16", "F16", {2}, raw<uint16_t>({0x3c00, 0xc000}));   // 1.0, -2.0
  add("bf16", "BF16", {3}, raw<uint16_t>({0x3f80, 0x4040, 0xbf00}));  // 1.0, 3.0, -0.5
  add("i64", "I64", {2}, raw<int64_t>({-7, int64_t{1} << 40}));
  add("i32", "I32", {1, 2}, raw<int32_t>({-3, 123456}));
  add("i16", "I16", {2}, raw<int16_t>({-300, 300}));
  add("i8", "I8", {3}, raw<int8_t>({-128, 0, 127}));
  add("u8", "U8", {2}, raw<uint8_t>({0, 255}));
  add("bool", "BOOL", {3}, raw<uint8_t>({1, 0, 1}));
  add("scalar", "F32", {}, raw<float>({42.0f}));
  add("empty", "F32", {0, 3}, "");
  header["__metadata__"] = {{"format", "pt"}};
  const auto c = read_safetensors(write(dir, "all.safetensors", file_bytes(header.dump(), data)));
  ASSERT_EQ(c.tensors.size(), 12u);
  EXPECT_EQ(c.metadata.at("format"), "pt");
  auto t = [&](const char* n) { return c.tensors.at(n); };
  EXPECT_EQ(t("f64").scalar_type(), torch::kDouble);
  EXPECT_EQ(t("f64")[1].item<double>(), -2.25);
  EXPECT_EQ(t("f32").sizes(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(t("f32")[1][1].item<float>(), -4.5f);
  EXPECT_EQ(t("f16").scalar_type(), torch::kHalf);
  EXPECT_EQ(t("f16").to(torch::kFloat)[1].item<float>(), -2.0f);
  EXPECT_EQ(t("bf16").scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(t("bf16").to(torch::kFloat).equal(torch::tensor({1.0f, 3.0f, -0.5f})));
  EXPECT_EQ(t("i64")[1].item<int64_t>(), int64_t{1} << 40);
  EXPECT_EQ(t("i32")[0][1].item<int32_t>(), 123456);
  EXPECT_EQ(t("i16")[0].item<int16_t>(), -300);
  EXPECT_EQ(t("i8")[0].item<int8_t>(), -128);
  EXPECT_EQ(t("u8")[1].item<uint8_t>(), 255);
  EXPECT_EQ(t("bool").scalar_type(), torch::kBool);
  EXPECT_TRUE(t("bool").equal(torch::tensor({true, false, true})));
  EXPECT_EQ(t("scalar").dim(), 0);
  EXPECT_EQ(t("scalar").item<float>(), 42.0f);
  EXPECT_EQ(t("empty").numel(), 0);
}

TEST(LmSafetensors, WrittenFileFollowsTheSpec) {
  const std::string dir = test_dir("write");
  const torch::Tensor a = torch::tensor({{1.0f, -2.0f, 3.5f}, {0.25f, 5.0f, 6.0f}});
  const torch::Tensor b = torch::tensor({1.0, 3.0}, torch::kDouble);  // stored as BF16 when asked
  const std::string path = dir + "/w.safetensors";
  write_safetensors(path, {{"a", a}, {"b", b}, {"ids", torch::tensor({7, 8}, torch::kLong)}}, {{"format", "pt"}});
  const std::string bytes = read_all(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ(n % 8, 0u);  // the data buffer starts 8-aligned
  const json h = json::parse(bytes.substr(8, n));
  EXPECT_EQ(h.at("__metadata__").at("format"), "pt");
  EXPECT_EQ(h.at("a").at("dtype"), "F32");
  EXPECT_EQ(h.at("a").at("shape"), json({2, 3}));
  EXPECT_EQ(h.at("b").at("dtype"), "F64");
  EXPECT_EQ(h.at("ids").at("dtype"), "I64");
  const auto off = h.at("a").at("data_offsets");
  float first[6];
  std::memcpy(first, bytes.data() + 8 + n + off[0].get<size_t>(), sizeof first);
  EXPECT_EQ(first[2], 3.5f);
  EXPECT_EQ(first[3], 0.25f);
  EXPECT_EQ(bytes.size(), 8 + n + 24 + 16 + 16);

  // bf16 conversion of floating tensors only; integers keep their dtype.
  write_safetensors(path, {{"a", a}, {"b", b}, {"ids", torch::tensor({7, 8}, torch::kLong)}}, {}, torch::kBFloat16);
  const auto c = read_safetensors(path);
  EXPECT_EQ(c.tensors.at("a").scalar_type(), torch::kBFloat16);
  EXPECT_EQ(c.tensors.at("b").scalar_type(), torch::kBFloat16);
  EXPECT_EQ(c.tensors.at("ids").scalar_type(), torch::kLong);
  EXPECT_TRUE(c.tensors.at("a").to(torch::kFloat).equal(a));  // all values exact in bf16
  EXPECT_TRUE(c.metadata.empty());
  // no temp file is left behind
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(LmSafetensors, WriteRejectsDuplicateNames) {
  const std::string dir = test_dir("dup_write");
  const std::string path = dir + "/d.safetensors";
  EXPECT_THROW(write_safetensors(path, {{"x", torch::ones({1})}, {"x", torch::ones({1})}}), core::UserError);
  EXPECT_FALSE(fs::exists(path));  // nothing half-written
}

TEST(LmSafetensors, RejectsCorruptFiles) {
  const std::string dir = test_dir("corrupt");
  const std::string f4 = raw<float>({1.0f, 2.0f});  // 8 bytes
  auto entry = [](const char* dtype, json shape, int64_t b, int64_t e) {
    return json{{"dtype", dtype}, {"shape", shape}, {"data_offsets", {b, e}}};
  };
  expect_rejected(write(dir, "short.st", "abc"), {"too short", "3 bytes"});
  expect_rejected(write(dir, "huge_header.st", le64(uint64_t{1} << 40) + "{}"), {"header size", "absurd"});
  expect_rejected(write(dir, "beyond.st", le64(64) + "{}"), {"header size 64 exceeds the file"});
  expect_rejected(write(dir, "json.st", file_bytes("{\"a\": [1,", "")), {"invalid JSON header"});
  expect_rejected(write(dir, "array.st", file_bytes("[1, 2]", "")), {"not a JSON object"});
  expect_rejected(write(dir, "missing.st", file_bytes(json{{"w", {{"dtype", "F32"}, {"shape", {2}}}}}.dump(), f4)),
                  {"tensor 'w'", "missing field 'data_offsets'"});
  expect_rejected(write(dir, "entry_type.st", file_bytes(json{{"w", 5}}.dump(), "")), {"tensor 'w'", "must be an object"});
  expect_rejected(write(dir, "dtype_type.st", file_bytes(R"({"w": {"dtype": 32, "shape": [2], "data_offsets": [0, 8]}})", f4)),
                  {"tensor 'w'", "'dtype' must be a string"});
  expect_rejected(write(dir, "dtype.st", file_bytes(json{{"w", entry("F7", {2}, 0, 8)}}.dump(), f4)),
                  {"tensor 'w'", "unknown or unsupported dtype 'F7'"});
  expect_rejected(write(dir, "shape_type.st", file_bytes(json{{"w", entry("F32", "2", 0, 8)}}.dump(), f4)),
                  {"tensor 'w'", "'shape' must be an array"});
  expect_rejected(write(dir, "shape_neg.st", file_bytes(json{{"w", entry("F32", {-2}, 0, 8)}}.dump(), f4)),
                  {"tensor 'w'", "non-negative integer"});
  expect_rejected(write(dir, "offsets_type.st",
                        file_bytes(json{{"w", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0}}}}}.dump(), f4)),
                  {"tensor 'w'", "'data_offsets' must be [begin, end]"});
  expect_rejected(write(dir, "range.st", file_bytes(json{{"w", entry("F32", {4}, 0, 16)}}.dump(), f4)),
                  {"tensor 'w'", "out of range", "8 bytes"});
  expect_rejected(write(dir, "size.st", file_bytes(json{{"w", entry("F32", {3}, 0, 8)}}.dump(), f4)),
                  {"tensor 'w'", "span 8 bytes", "needs 12"});
  expect_rejected(write(dir, "overlap.st",
                        file_bytes(json{{"a", entry("F32", {2}, 0, 8)}, {"b", entry("F32", {1}, 4, 8)}}.dump(), f4)),
                  {"tensor 'b' overlaps tensor 'a'"});
  expect_rejected(write(dir, "hole.st", file_bytes(json{{"a", entry("F32", {1}, 4, 8)}}.dump(), f4)),
                  {"not contiguous", "before tensor 'a'"});
  expect_rejected(write(dir, "trailing.st", file_bytes(json{{"a", entry("F32", {1}, 0, 4)}}.dump(), f4)),
                  {"not contiguous", "at the end"});
  expect_rejected(write(dir, "dup.st",
                        file_bytes(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                                      "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})", f4)),
                  {"duplicate tensor name 'a'"});
  expect_rejected(write(dir, "meta.st", file_bytes(json{{"__metadata__", {{"format", 1}}}, {"a", entry("F32", {2}, 0, 8)}}.dump(), f4)),
                  {"__metadata__", "format"});
  expect_rejected(write(dir, "bool.st", file_bytes(json{{"a", entry("BOOL", {2}, 0, 2)}}.dump(), std::string("\x01\x07", 2))),
                  {"tensor 'a'", "BOOL"});
  expect_rejected(dir + "/absent.st", {"cannot open"});
}

TEST(LmSafetensors, ShardedCheckpointRoundTrip) {
  const std::string dir = test_dir("sharded");
  NamedTensors ts;
  for (int i = 0; i < 5; ++i) ts.emplace_back("layer." + std::to_string(i) + ".w", torch::randn({4, 8}));  // 128 B each
  write_safetensors_checkpoint(dir, ts, /*max_shard_bytes=*/300);
  EXPECT_FALSE(fs::exists(dir + "/model.safetensors"));
  const json index = json::parse(read_all(dir + "/model.safetensors.index.json"));
  EXPECT_EQ(index.at("metadata").at("total_size"), 5 * 128);
  EXPECT_EQ(index.at("weight_map").at("layer.0.w"), "model-00001-of-00003.safetensors");
  EXPECT_EQ(index.at("weight_map").at("layer.2.w"), "model-00002-of-00003.safetensors");
  EXPECT_EQ(index.at("weight_map").at("layer.4.w"), "model-00003-of-00003.safetensors");
  const auto shard = read_safetensors(dir + "/model-00001-of-00003.safetensors");
  EXPECT_EQ(shard.metadata.at("format"), "pt");
  EXPECT_EQ(shard.tensors.size(), 2u);
  const auto back = read_safetensors_checkpoint(dir);
  ASSERT_EQ(back.size(), 5u);
  for (const auto& [name, t] : ts) EXPECT_TRUE(back.at(name).equal(t)) << name;

  // Saving again unsharded replaces the shards and the index.
  write_safetensors_checkpoint(dir, ts, /*max_shard_bytes=*/0);
  EXPECT_TRUE(fs::exists(dir + "/model.safetensors"));
  EXPECT_FALSE(fs::exists(dir + "/model.safetensors.index.json"));
  EXPECT_FALSE(fs::exists(dir + "/model-00001-of-00003.safetensors"));
  EXPECT_EQ(read_safetensors_checkpoint(dir).size(), 5u);
}

TEST(LmSafetensors, RejectsInconsistentIndex) {
  const std::string dir = test_dir("index");
  write_safetensors(dir + "/s1.safetensors", {{"a", torch::ones({2})}, {"b", torch::ones({2})}});
  auto expect_index_error = [&](const json& index, const std::string& part) {
    std::ofstream(dir + "/model.safetensors.index.json") << index.dump();
    try {
      read_safetensors_checkpoint(dir);
      FAIL() << index.dump();
    } catch (const core::UserError& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_index_error({{"weight_map", {{"a", "s1.safetensors"}, {"b", "s1.safetensors"}, {"c", "s1.safetensors"}}}},
                     "tensor 'c' is missing from shard 's1.safetensors'");
  expect_index_error({{"weight_map", {{"a", "s1.safetensors"}}}}, "tensor 'b' is not listed for this shard");
  expect_index_error({{"weight_map", {{"a", "../s1.safetensors"}}}}, "must name a file in the same directory");
  expect_index_error({{"metadata", {}}}, "needs an object 'weight_map'");
  expect_index_error({{"weight_map", {{"a", "s2.safetensors"}}}}, "cannot open safetensors file");
  std::ofstream(dir + "/model.safetensors.index.json") << "{";
  EXPECT_THROW(read_safetensors_checkpoint(dir), core::UserError);
  fs::remove(dir + "/model.safetensors.index.json");
  try {
    read_safetensors_checkpoint(dir);
    FAIL();
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("no model.safetensors"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace rlpp::nn::lm
