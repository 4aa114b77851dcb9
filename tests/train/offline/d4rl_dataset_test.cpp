// D4RL HDF5 files: a bit-equal round trip of a hand-built dataset, D4RL's own encodings (h5py's
// bool enum, float64, uint8 flags) read back, and every malformed file refused with a message that
// names the file and the field. The malformed files are written here with the HDF5 C API, not
// with rlpp's writer.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "common/temp_dir.h"
#include "rlpp/core/build_info.h"
#include "rlpp/core/error.h"
#include "rlpp/env/registry.h"
#include "rlpp/train/offline/d4rl_dataset.h"

namespace rlpp::train::offline {
namespace {

using rlpp::testing::TempDir;

// 3 transitions, obs_dim 2, act_dim 1; values chosen so that float32 holds them exactly or not
// (0.1f) — either way the round trip must give the same bits.
D4rlDataset hand_dataset() {
  D4rlDataset d;
  d.obs_dim = 2;
  d.act_dim = 1;
  d.observations = {0.1f, -2.5f, 1e-30f, 3.0f, -0.0f, 7.25f};  // (3, 2)
  d.actions = {0.5f, -1.0f, 0.75f};                             // (3, 1)
  d.rewards = {1.0f, 0.3f, -4.5f};                              // (3)
  d.next_observations = {1e-30f, 3.0f, -0.0f, 7.25f, 9.0f, 1e30f};  // (3, 2)
  d.terminals = {0, 0, 1};
  d.timeouts = {0, 1, 0};
  d.meta.env_name = "Pendulum-v1";
  d.meta.policy = "hand-built";
  d.meta.seed = 42;
  return d;
}

template <typename T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

TEST(D4rlDataset, RoundTripIsBitEqual) {
  TempDir dir("d4rl");
  const D4rlDataset d = hand_dataset();
  write_d4rl(dir / "d.hdf5", d);
  const D4rlDataset r = read_d4rl(dir / "d.hdf5");
  EXPECT_EQ(r.obs_dim, 2);
  EXPECT_EQ(r.act_dim, 1);
  EXPECT_TRUE(same_bits(r.observations, d.observations));
  EXPECT_TRUE(same_bits(r.actions, d.actions));
  EXPECT_TRUE(same_bits(r.rewards, d.rewards));
  EXPECT_TRUE(same_bits(r.next_observations, d.next_observations));
  EXPECT_EQ(r.terminals, d.terminals);
  EXPECT_EQ(r.timeouts, d.timeouts);
  EXPECT_EQ(r.meta.env_name, "Pendulum-v1");
  EXPECT_EQ(r.meta.policy, "hand-built");
  EXPECT_EQ(r.meta.seed, 42);
  EXPECT_FALSE(r.meta.rlpp_version.empty());
  EXPECT_EQ(r.meta.rlpp_commit, rlpp::core::build_commit());
  EXPECT_FALSE(std::filesystem::exists(dir / "d.hdf5.tmp." + std::to_string(::getpid())));
}

// ---- a tiny HDF5 writer for hand-made files (independent of write_d4rl) ----------------------
struct Field {
  std::string name;
  hid_t type;              // file and memory type
  std::vector<hsize_t> dims;
  const void* data;
};

void write_raw(const std::string& path, const std::vector<Field>& fields) {
  const hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  for (const auto& x : fields) {
    const hid_t s = H5Screate_simple(static_cast<int>(x.dims.size()), x.dims.data(), nullptr);
    const hid_t d = H5Dcreate2(f, x.name.c_str(), x.type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    ASSERT_GE(d, 0) << x.name;
    ASSERT_GE(H5Dwrite(d, x.type, H5S_ALL, H5S_ALL, H5P_DEFAULT, x.data), 0) << x.name;
    H5Dclose(d);
    H5Sclose(s);
  }
  H5Fclose(f);
}

// A valid D4RL file with N = 4, obs_dim 3, act_dim 2, whose fields the cases below replace.
struct RawFile {
  std::vector<float> obs = std::vector<float>(12, 0.5f), next = std::vector<float>(12, 0.25f);
  std::vector<float> act = std::vector<float>(8, -0.5f), rew = {1, 2, 3, 4};
  std::vector<uint8_t> term = {0, 0, 0, 1}, tout = {0, 1, 0, 0};
  std::vector<Field> fields() const {
    return {{"observations", H5T_NATIVE_FLOAT, {4, 3}, obs.data()},
            {"actions", H5T_NATIVE_FLOAT, {4, 2}, act.data()},
            {"rewards", H5T_NATIVE_FLOAT, {4}, rew.data()},
            {"next_observations", H5T_NATIVE_FLOAT, {4, 3}, next.data()},
            {"terminals", H5T_NATIVE_UINT8, {4}, term.data()},
            {"timeouts", H5T_NATIVE_UINT8, {4}, tout.data()}};
  }
};

std::vector<Field> replace(std::vector<Field> fs, const Field& f) {
  for (auto& x : fs) {
    if (x.name == f.name) x = f;
  }
  return fs;
}
std::vector<Field> without(std::vector<Field> fs, const std::string& name) {
  std::vector<Field> out;
  for (auto& x : fs) {
    if (x.name != name) out.push_back(x);
  }
  return out;
}

// read_d4rl(path) must throw a UserError whose message holds the path and every one of `parts`.
void expect_refused(const std::string& path, const std::vector<std::string>& parts) {
  try {
    read_d4rl(path);
    ADD_FAILURE() << "accepted " << path;
  } catch (const core::UserError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find(path), std::string::npos) << m;
    for (const auto& p : parts) EXPECT_NE(m.find(p), std::string::npos) << "missing '" << p << "' in: " << m;
  }
}

TEST(D4rlDataset, ReadsHandWrittenUint8FlagsFile) {
  TempDir dir("d4rl");
  RawFile raw;
  write_raw(dir / "ok.hdf5", raw.fields());
  const D4rlDataset d = read_d4rl(dir / "ok.hdf5");
  EXPECT_EQ(d.size(), 4);
  EXPECT_EQ(d.obs_dim, 3);
  EXPECT_EQ(d.act_dim, 2);
  EXPECT_EQ(d.terminals, raw.term);
  EXPECT_EQ(d.timeouts, raw.tout);
  EXPECT_EQ(d.meta.env_name, "");
  EXPECT_EQ(d.meta.seed, -1);
}

TEST(D4rlDataset, ReadsH5pyBoolEnumUtf8AttributesAndConvertsFloat64) {
  TempDir dir("d4rl");
  RawFile raw;
  const hid_t b = H5Tenum_create(H5T_NATIVE_INT8);
  int8_t v = 0;
  H5Tenum_insert(b, "FALSE", &v);
  v = 1;
  H5Tenum_insert(b, "TRUE", &v);
  const std::vector<double> rew64 = {0.1, 2, 3, 4};
  auto fs = replace(raw.fields(), {"terminals", b, {4}, raw.term.data()});
  fs = replace(fs, {"rewards", H5T_NATIVE_DOUBLE, {4}, rew64.data()});
  write_raw(dir / "h5py.hdf5", fs);
  H5Tclose(b);
  {  // h5py's string attribute: variable-length UTF-8
    const hid_t f = H5Fopen((dir / "h5py.hdf5").c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    const hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    const hid_t s = H5Screate(H5S_SCALAR);
    const hid_t a = H5Acreate2(f, "env_name", t, s, H5P_DEFAULT, H5P_DEFAULT);
    const char* name = "Hopper-v4";
    ASSERT_GE(H5Awrite(a, t, &name), 0);
    H5Aclose(a);
    H5Sclose(s);
    H5Tclose(t);
    H5Fclose(f);
  }
  const D4rlDataset d = read_d4rl(dir / "h5py.hdf5");
  EXPECT_EQ(d.terminals, raw.term);
  EXPECT_EQ(d.rewards[0], static_cast<float>(0.1));  // rounded to nearest float32
  EXPECT_EQ(d.meta.env_name, "Hopper-v4");
}

TEST(D4rlDataset, MissingFieldIsNamed) {
  TempDir dir("d4rl");
  RawFile raw;
  for (const char* name : {"observations", "actions", "rewards", "next_observations", "terminals", "timeouts"}) {
    const std::string p = dir / (std::string("no_") + name + ".hdf5");
    write_raw(p, without(raw.fields(), name));
    expect_refused(p, {std::string("has no '") + name + "'"});
  }
}

TEST(D4rlDataset, WrongRankIsNamed) {
  TempDir dir("d4rl");
  RawFile raw;
  write_raw(dir / "a.hdf5", replace(raw.fields(), {"rewards", H5T_NATIVE_FLOAT, {4, 1}, raw.rew.data()}));
  expect_refused(dir / "a.hdf5", {"'rewards'", "rank 2", "expected 1"});
  write_raw(dir / "b.hdf5", replace(raw.fields(), {"observations", H5T_NATIVE_FLOAT, {12}, raw.obs.data()}));
  expect_refused(dir / "b.hdf5", {"'observations'", "rank 1", "expected 2"});
}

TEST(D4rlDataset, MismatchedRowsAndWidthsAreNamed) {
  TempDir dir("d4rl");
  RawFile raw;
  write_raw(dir / "rows.hdf5", replace(raw.fields(), {"actions", H5T_NATIVE_FLOAT, {3, 2}, raw.act.data()}));
  expect_refused(dir / "rows.hdf5", {"'actions' has 3 rows", "'observations' has 4"});
  write_raw(dir / "flags.hdf5", replace(raw.fields(), {"timeouts", H5T_NATIVE_UINT8, {3}, raw.tout.data()}));
  expect_refused(dir / "flags.hdf5", {"'timeouts' has 3 rows"});
  write_raw(dir / "width.hdf5", replace(raw.fields(), {"next_observations", H5T_NATIVE_FLOAT, {4, 2}, raw.next.data()}));
  expect_refused(dir / "width.hdf5", {"'next_observations' has 2 columns", "'observations' has 3"});
}

TEST(D4rlDataset, WrongDtypeIsNamed) {
  TempDir dir("d4rl");
  RawFile raw;
  const std::vector<int32_t> obs_i(12, 1);
  write_raw(dir / "int.hdf5", replace(raw.fields(), {"observations", H5T_NATIVE_INT32, {4, 3}, obs_i.data()}));
  expect_refused(dir / "int.hdf5", {"'observations' has type integer (32-bit)", "expected float32"});
  const std::vector<float> term_f = {0, 0, 0, 1};
  write_raw(dir / "fterm.hdf5", replace(raw.fields(), {"terminals", H5T_NATIVE_FLOAT, {4}, term_f.data()}));
  expect_refused(dir / "fterm.hdf5", {"'terminals' has type float32", "expected bool"});
  const std::vector<int32_t> tout_i = {0, 1, 0, 0};
  write_raw(dir / "iout.hdf5", replace(raw.fields(), {"timeouts", H5T_NATIVE_INT32, {4}, tout_i.data()}));
  expect_refused(dir / "iout.hdf5", {"'timeouts' has type integer (32-bit)"});
}

TEST(D4rlDataset, NonFiniteValuesAndBadFlagsAreNamed) {
  TempDir dir("d4rl");
  RawFile raw;
  auto nan_obs = raw.obs;
  nan_obs[7] = std::numeric_limits<float>::quiet_NaN();  // row 2
  write_raw(dir / "nan.hdf5", replace(raw.fields(), {"observations", H5T_NATIVE_FLOAT, {4, 3}, nan_obs.data()}));
  expect_refused(dir / "nan.hdf5", {"'observations' row 2 holds nan"});
  auto inf_rew = raw.rew;
  inf_rew[1] = -std::numeric_limits<float>::infinity();
  write_raw(dir / "inf.hdf5", replace(raw.fields(), {"rewards", H5T_NATIVE_FLOAT, {4}, inf_rew.data()}));
  expect_refused(dir / "inf.hdf5", {"'rewards' row 1 holds inf"});
  const std::vector<double> big = {1e300, 2, 3, 4};  // float64 beyond float32's range
  write_raw(dir / "big.hdf5", replace(raw.fields(), {"rewards", H5T_NATIVE_DOUBLE, {4}, big.data()}));
  expect_refused(dir / "big.hdf5", {"'rewards' row 0 holds inf"});
  const std::vector<uint8_t> two = {0, 2, 0, 0};
  write_raw(dir / "two.hdf5", replace(raw.fields(), {"terminals", H5T_NATIVE_UINT8, {4}, two.data()}));
  expect_refused(dir / "two.hdf5", {"'terminals' row 1 holds 2"});
  const std::vector<uint8_t> both = {0, 1, 0, 0};  // row 1 is a timeout in RawFile too
  write_raw(dir / "both.hdf5", replace(raw.fields(), {"terminals", H5T_NATIVE_UINT8, {4}, both.data()}));
  expect_refused(dir / "both.hdf5", {"row 1 is both a terminal and a timeout"});
}

TEST(D4rlDataset, EmptyDatasetIsRefused) {
  TempDir dir("d4rl");
  const std::vector<float> none;
  const std::vector<uint8_t> no_flags;
  write_raw(dir / "zero.hdf5", {{"observations", H5T_NATIVE_FLOAT, {0, 3}, none.data()},
                                {"actions", H5T_NATIVE_FLOAT, {0, 2}, none.data()},
                                {"rewards", H5T_NATIVE_FLOAT, {0}, none.data()},
                                {"next_observations", H5T_NATIVE_FLOAT, {0, 3}, none.data()},
                                {"terminals", H5T_NATIVE_UINT8, {0}, no_flags.data()},
                                {"timeouts", H5T_NATIVE_UINT8, {0}, no_flags.data()}});
  expect_refused(dir / "zero.hdf5", {"holds no transitions"});
}

TEST(D4rlDataset, BrokenFilesAreRefused) {
  TempDir dir("d4rl");
  expect_refused(dir / "missing.hdf5", {"does not exist"});
  { std::ofstream(dir / "empty.hdf5"); }
  expect_refused(dir / "empty.hdf5", {"is an empty file"});
  { std::ofstream(dir / "text.hdf5") << "observations,actions\n1,2\n"; }
  expect_refused(dir / "text.hdf5", {"is not an HDF5 file"});
  // A valid file cut in half: the signature survives, the rest does not.
  write_d4rl(dir / "whole.hdf5", hand_dataset());
  std::ifstream in(dir / "whole.hdf5", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(dir / "cut.hdf5", std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  expect_refused(dir / "cut.hdf5", {"truncated or damaged"});
}

TEST(D4rlDataset, WriterRefusesInvalidDataAndLeavesNoFile) {
  TempDir dir("d4rl");
  D4rlDataset d = hand_dataset();
  d.rewards[1] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_THROW(write_d4rl(dir / "bad.hdf5", d), core::UserError);
  EXPECT_FALSE(std::filesystem::exists(dir / "bad.hdf5"));
  EXPECT_THROW(write_d4rl(dir / "no/such/dir.hdf5", hand_dataset()), core::UserError);
}

TEST(D4rlDataset, CheckMatchesComparesWithTheEnvironment) {
  env::VecEnvOptions o;
  const env::Spec pendulum = env::make("Pendulum-v1", o)->spec();  // obs 3, act 1
  const env::Spec cartpole = env::make("CartPole-v1", o)->spec();  // obs 4, discrete 2
  D4rlDataset d = hand_dataset();  // obs 2, act 1, named Pendulum-v1
  try {
    check_matches(d, pendulum, "d.hdf5");
    ADD_FAILURE();
  } catch (const core::UserError& e) {
    EXPECT_NE(std::string(e.what()).find("observations of width 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Pendulum-v1 has 3 and 1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(check_matches(d, cartpole, "d.hdf5"), core::UserError);  // collected on Pendulum-v1
  D4rlDataset c;
  c.obs_dim = 4;
  c.act_dim = 1;
  const float o4[4] = {0, 0, 0, 0}, a1[1] = {1}, a3[1] = {3};
  c.push(o4, a1, 1, o4, false, false);
  EXPECT_NO_THROW(check_matches(c, cartpole, "c.hdf5"));
  c.push(o4, a3, 1, o4, true, false);
  EXPECT_THROW(check_matches(c, cartpole, "c.hdf5"), core::UserError);  // action 3 of 2
}

TEST(D4rlDataset, ConcatenateCutsARunningEpisodeAtTheJoin) {
  D4rlDataset a = hand_dataset(), b = hand_dataset();
  a.terminals.back() = 0;  // a ends mid-episode
  const D4rlDataset c = concatenate(a, b);
  ASSERT_EQ(c.size(), 6);
  EXPECT_EQ(c.timeouts[2], 1);
  EXPECT_EQ(c.terminals[5], 1);
  EXPECT_EQ(c.observations[6], b.observations[0]);
  EXPECT_EQ(c.meta.policy, "hand-built + hand-built");
  D4rlDataset wide = hand_dataset();
  wide.act_dim = 2;
  EXPECT_THROW(concatenate(a, wide), core::UserError);
}

}  // namespace
}  // namespace rlpp::train::offline
