#include "rlpp/train/offline/d4rl_dataset.h"

#include <hdf5.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <utility>

#include "rlpp/core/build_info.h"
#include "rlpp/core/error.h"
#include "rlpp/version.h"

namespace fs = std::filesystem;

namespace rlpp::train::offline {
namespace {

// Silences HDF5's own error-stack printing once per process: users see only rlpp's messages.
void quiet_hdf5() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

// Owns one hid_t and closes it with its kind's close function (files, datasets, spaces, types,
// attributes), also on error paths.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), close_(o.close_) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  hid_t get() const { return id_; }
  bool ok() const { return id_ >= 0; }

 private:
  hid_t id_;
  Closer close_;
};

struct FloatField {
  const char* name;
  std::vector<float> D4rlDataset::*data;
  int rank;  // 2: (N, width), 1: (N)
};
struct FlagField {
  const char* name;
  std::vector<uint8_t> D4rlDataset::*data;
};
const FloatField kFloatFields[] = {{"observations", &D4rlDataset::observations, 2},
                                   {"actions", &D4rlDataset::actions, 2},
                                   {"rewards", &D4rlDataset::rewards, 1},
                                   {"next_observations", &D4rlDataset::next_observations, 2}};
const FlagField kFlagFields[] = {{"terminals", &D4rlDataset::terminals}, {"timeouts", &D4rlDataset::timeouts}};

std::string where(const std::string& file, const char* field) {
  return "dataset '" + file + "': '" + field + "'";
}

// h5py's bool: an enum over int8 with FALSE = 0, TRUE = 1.
Handle bool_type() {
  Handle t(H5Tenum_create(H5T_NATIVE_INT8), H5Tclose);
  int8_t v = 0;
  H5Tenum_insert(t.get(), "FALSE", &v);
  v = 1;
  H5Tenum_insert(t.get(), "TRUE", &v);
  return t;
}

void check_status(herr_t status, const std::string& what) {
  if (status < 0) throw core::UserError(what);
}

template <typename T>
void write_field(hid_t file, const char* name, hid_t file_type, hid_t mem_type, const std::vector<T>& data,
                 int64_t rows, int64_t width, int rank, const std::string& path) {
  const hsize_t dims[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(width)};
  Handle space(H5Screate_simple(rank, dims, nullptr), H5Sclose);
  Handle set(H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Dclose);
  if (!space.ok() || !set.ok()) throw core::UserError("cannot create '" + std::string(name) + "' in '" + path + "'");
  check_status(H5Dwrite(set.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()),
               "cannot write '" + std::string(name) + "' to '" + path + "' (disk full?)");
}

void write_string_attr(hid_t file, const char* name, const std::string& value, const std::string& path) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), std::max<size_t>(value.size(), 1));
  H5Tset_strpad(type.get(), H5T_STR_NULLPAD);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle attr(H5Acreate2(file, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  std::string buf = value.empty() ? std::string(1, '\0') : value;
  if (!attr.ok() || H5Awrite(attr.get(), type.get(), buf.data()) < 0) {
    throw core::UserError("cannot write attribute '" + std::string(name) + "' to '" + path + "'");
  }
}

std::string read_string_attr(hid_t file, const char* name, const std::string& path) {
  if (H5Aexists(file, name) <= 0) return "";
  Handle attr(H5Aopen(file, name, H5P_DEFAULT), H5Aclose);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  const std::string bad = "dataset '" + path + "': attribute '" + name + "' is not a readable string";
  if (!attr.ok() || !type.ok() || H5Tget_class(type.get()) != H5T_STRING) throw core::UserError(bad);
  if (H5Tis_variable_str(type.get()) > 0) {
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    H5Tset_cset(mem.get(), H5Tget_cset(type.get()));  // h5py writes UTF-8; HDF5 does not convert charsets
    char* s = nullptr;
    if (H5Aread(attr.get(), mem.get(), &s) < 0) throw core::UserError(bad);
    std::string out = s ? s : "";
    H5free_memory(s);
    return out;
  }
  std::string buf(H5Tget_size(type.get()), '\0');
  if (H5Aread(attr.get(), type.get(), buf.data()) < 0) throw core::UserError(bad);
  return std::string(buf.c_str());
}

// Opens dataset `name`, checks its rank and returns its dims.
Handle open_field(hid_t file, const std::string& path, const char* name, int rank, hsize_t dims[2]) {
  if (H5Lexists(file, name, H5P_DEFAULT) <= 0) {
    throw core::UserError("dataset '" + path + "' has no '" + name + "' (a D4RL file holds observations, actions, "
                          "rewards, next_observations, terminals and timeouts)");
  }
  Handle set(H5Dopen2(file, name, H5P_DEFAULT), H5Dclose);
  if (!set.ok()) throw core::UserError(where(path, name) + " is not a dataset or cannot be opened (damaged file?)");
  Handle space(H5Dget_space(set.get()), H5Sclose);
  const int r = space.ok() ? H5Sget_simple_extent_ndims(space.get()) : -1;
  if (r != rank) {
    throw core::UserError(where(path, name) + " has rank " + std::to_string(r) + "; expected " +
                          std::to_string(rank) + (rank == 2 ? " (N, dim)" : " (N)"));
  }
  H5Sget_simple_extent_dims(space.get(), dims, nullptr);
  return set;
}

std::string class_name(H5T_class_t c, size_t size) {
  switch (c) {
    case H5T_INTEGER: return "integer (" + std::to_string(size * 8) + "-bit)";
    case H5T_FLOAT: return "float" + std::to_string(size * 8);
    case H5T_STRING: return "string";
    case H5T_ENUM: return "enum (" + std::to_string(size * 8) + "-bit)";
    case H5T_COMPOUND: return "compound";
    default: return "type class " + std::to_string(static_cast<int>(c));
  }
}

}  // namespace

void D4rlDataset::push(const float* obs, const float* action, float reward, const float* next_obs, bool terminal,
                       bool timeout) {
  observations.insert(observations.end(), obs, obs + obs_dim);
  actions.insert(actions.end(), action, action + act_dim);
  rewards.push_back(reward);
  next_observations.insert(next_observations.end(), next_obs, next_obs + obs_dim);
  terminals.push_back(terminal ? 1 : 0);
  timeouts.push_back(timeout ? 1 : 0);
}

void D4rlDataset::validate(const std::string& what) const {
  const int64_t n = size();
  core::require(n >= 1, "dataset '" + what + "' holds no transitions");
  core::require(obs_dim >= 1 && act_dim >= 1, "dataset '" + what + "': observation and action widths must be >= 1");
  for (const auto& f : kFloatFields) {
    const auto& v = this->*f.data;
    const int64_t width = f.rank == 1 ? 1 : (f.data == &D4rlDataset::actions ? act_dim : obs_dim);
    core::require(static_cast<int64_t>(v.size()) == n * width,
                  where(what, f.name) + " holds " + std::to_string(v.size()) + " values; expected " +
                      std::to_string(n) + " x " + std::to_string(width));
    for (size_t i = 0; i < v.size(); ++i) {
      if (!std::isfinite(v[i])) {
        throw core::UserError(where(what, f.name) + " row " + std::to_string(static_cast<int64_t>(i) / width) +
                              " holds " + (std::isnan(v[i]) ? "nan" : "inf") + " (values must be finite)");
      }
    }
  }
  for (const auto& f : kFlagFields) {
    const auto& v = this->*f.data;
    core::require(static_cast<int64_t>(v.size()) == n, where(what, f.name) + " has " + std::to_string(v.size()) +
                                                           " rows but 'rewards' has " + std::to_string(n));
    for (size_t i = 0; i < v.size(); ++i) {
      if (v[i] > 1) {
        throw core::UserError(where(what, f.name) + " row " + std::to_string(i) + " holds " + std::to_string(v[i]) +
                              "; flags must be 0 or 1");
      }
    }
  }
  for (int64_t i = 0; i < n; ++i) {
    if (terminals[static_cast<size_t>(i)] && timeouts[static_cast<size_t>(i)]) {
      throw core::UserError("dataset '" + what + "': row " + std::to_string(i) +
                            " is both a terminal and a timeout (a terminal step has timeouts = 0)");
    }
  }
}

void write_d4rl(const std::string& path, const D4rlDataset& d) {
  quiet_hdf5();
  d.validate(path);
  const fs::path target(path);
  std::error_code ec;
  core::require(!fs::is_directory(target, ec), "--out: '" + path + "' is a directory");
  const fs::path parent = target.parent_path();
  core::require(parent.empty() || fs::is_directory(parent, ec), "--out: directory '" + parent.string() + "' does not exist");
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  try {
    {
      Handle file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
      if (!file.ok()) throw core::UserError("cannot create '" + tmp + "' (permissions?)");
      const int64_t n = d.size();
      for (const auto& f : kFloatFields) {
        const int64_t width = f.rank == 1 ? 1 : (f.data == &D4rlDataset::actions ? d.act_dim : d.obs_dim);
        write_field(file.get(), f.name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, d.*f.data, n, width, f.rank, path);
      }
      const Handle b = bool_type();
      for (const auto& f : kFlagFields) {
        write_field(file.get(), f.name, b.get(), b.get(), d.*f.data, n, 1, 1, path);
      }
      write_string_attr(file.get(), "env_name", d.meta.env_name, path);
      write_string_attr(file.get(), "policy", d.meta.policy, path);
      write_string_attr(file.get(), "rlpp_version", RLPP_VERSION, path);
      write_string_attr(file.get(), "rlpp_commit", core::build_commit(), path);
      Handle space(H5Screate(H5S_SCALAR), H5Sclose);
      Handle attr(H5Acreate2(file.get(), "seed", H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
      if (!attr.ok() || H5Awrite(attr.get(), H5T_NATIVE_INT64, &d.meta.seed) < 0) {
        throw core::UserError("cannot write attribute 'seed' to '" + path + "'");
      }
      check_status(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), "cannot write '" + path + "' (disk full?)");
    }
    fs::rename(tmp, target, ec);
    if (ec) throw core::UserError("cannot move '" + tmp + "' to '" + path + "': " + ec.message());
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

D4rlDataset read_d4rl(const std::string& path) {
  quiet_hdf5();
  std::error_code ec;
  core::require(fs::exists(path, ec), "dataset '" + path + "' does not exist");
  core::require(fs::is_regular_file(path, ec), "dataset '" + path + "' is not a regular file");
  core::require(fs::file_size(path, ec) > 0, "dataset '" + path + "' is an empty file");
  const htri_t is_h5 = H5Fis_hdf5(path.c_str());
  core::require(is_h5 > 0, "dataset '" + path + "' is not an HDF5 file (no HDF5 signature)");
  Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  core::require(file.ok(), "dataset '" + path + "' cannot be opened: the HDF5 file is truncated or damaged");

  D4rlDataset d;
  int64_t n = -1;
  std::string n_from;
  auto check_rows = [&](const char* name, hsize_t rows) {
    if (n < 0) {
      n = static_cast<int64_t>(rows);
      n_from = name;
    } else if (static_cast<int64_t>(rows) != n) {
      throw core::UserError(where(path, name) + " has " + std::to_string(rows) + " rows but '" + n_from + "' has " +
                            std::to_string(n) + " (every field has one row per transition)");
    }
  };
  const std::string damaged = " cannot be read: the HDF5 file is truncated or damaged";
  for (const auto& f : kFloatFields) {
    hsize_t dims[2] = {0, 0};
    Handle set = open_field(file.get(), path, f.name, f.rank, dims);
    check_rows(f.name, dims[0]);
    Handle type(H5Dget_type(set.get()), H5Tclose);
    const H5T_class_t c = H5Tget_class(type.get());
    const size_t size = H5Tget_size(type.get());
    if (c != H5T_FLOAT || (size != 4 && size != 8)) {
      throw core::UserError(where(path, f.name) + " has type " + class_name(c, size) +
                            "; expected float32 (float64 is accepted and converted)");
    }
    int64_t width = 1;
    if (f.rank == 2) {
      width = static_cast<int64_t>(dims[1]);
      core::require(width >= 1, where(path, f.name) + " has 0 columns");
      if (f.data == &D4rlDataset::actions) {
        d.act_dim = width;
      } else if (d.obs_dim == 0) {
        d.obs_dim = width;
      } else if (width != d.obs_dim) {
        throw core::UserError(where(path, f.name) + " has " + std::to_string(width) +
                              " columns but 'observations' has " + std::to_string(d.obs_dim));
      }
    }
    auto& v = d.*f.data;
    v.resize(static_cast<size_t>(n * width));
    if (n > 0 && H5Dread(set.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0) {
      throw core::UserError(where(path, f.name) + damaged);
    }
  }
  for (const auto& f : kFlagFields) {
    hsize_t dims[2] = {0, 0};
    Handle set = open_field(file.get(), path, f.name, 1, dims);
    check_rows(f.name, dims[0]);
    Handle type(H5Dget_type(set.get()), H5Tclose);
    const H5T_class_t c = H5Tget_class(type.get());
    const size_t size = H5Tget_size(type.get());
    if ((c != H5T_INTEGER && c != H5T_ENUM) || size != 1) {
      throw core::UserError(where(path, f.name) + " has type " + class_name(c, size) +
                            "; expected bool (h5py's int8 enum) or a one-byte integer holding 0/1");
    }
    // Read in the file's own (one-byte) type: HDF5 does not convert an enum to an integer.
    Handle mem(H5Tget_native_type(type.get(), H5T_DIR_ASCEND), H5Tclose);
    auto& v = d.*f.data;
    v.resize(static_cast<size_t>(n));
    if (n > 0 && (!mem.ok() || H5Dread(set.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()) < 0)) {
      throw core::UserError(where(path, f.name) + damaged);
    }
  }
  d.meta.env_name = read_string_attr(file.get(), "env_name", path);
  d.meta.policy = read_string_attr(file.get(), "policy", path);
  d.meta.rlpp_version = read_string_attr(file.get(), "rlpp_version", path);
  d.meta.rlpp_commit = read_string_attr(file.get(), "rlpp_commit", path);
  if (H5Aexists(file.get(), "seed") > 0) {
    Handle attr(H5Aopen(file.get(), "seed", H5P_DEFAULT), H5Aclose);
    if (!attr.ok() || H5Aread(attr.get(), H5T_NATIVE_INT64, &d.meta.seed) < 0) {
      throw core::UserError("dataset '" + path + "': attribute 'seed' is not an integer");
    }
  }
  d.validate(path);
  return d;
}

void check_matches(const D4rlDataset& d, const env::Spec& spec, const std::string& what) {
  if (!d.meta.env_name.empty() && d.meta.env_name != spec.id) {
    throw core::UserError("dataset '" + what + "' was collected on " + d.meta.env_name + ", not " + spec.id);
  }
  const int64_t act_dim = spec.action.flat_dim();
  if (d.obs_dim != spec.observation.dim || d.act_dim != act_dim) {
    throw core::UserError("dataset '" + what + "' has observations of width " + std::to_string(d.obs_dim) +
                          " and actions of width " + std::to_string(d.act_dim) + "; " + spec.id + " has " +
                          std::to_string(spec.observation.dim) + " and " + std::to_string(act_dim));
  }
  if (spec.action.is_discrete()) {
    for (size_t i = 0; i < d.actions.size(); ++i) {
      const float a = d.actions[i];
      if (a < 0 || a >= static_cast<float>(spec.action.n) || a != std::floor(a)) {
        throw core::UserError("dataset '" + what + "': 'actions' row " + std::to_string(i) + " holds " +
                              std::to_string(a) + ", not an action index of " + spec.id + " (0.." +
                              std::to_string(spec.action.n - 1) + ")");
      }
    }
  }
}

D4rlDataset concatenate(const D4rlDataset& a, const D4rlDataset& b) {
  core::require(a.obs_dim == b.obs_dim && a.act_dim == b.act_dim,
                "cannot merge datasets of observation/action widths " + std::to_string(a.obs_dim) + "/" +
                    std::to_string(a.act_dim) + " and " + std::to_string(b.obs_dim) + "/" + std::to_string(b.act_dim));
  core::require(a.meta.env_name.empty() || b.meta.env_name.empty() || a.meta.env_name == b.meta.env_name,
                "cannot merge datasets of different environments (" + a.meta.env_name + " and " + b.meta.env_name + ")");
  D4rlDataset c = a;
  // a's last episode, if still running at its end, is cut there (a timeout), so that episodes do
  // not run on into b's first.
  if (!c.terminals.empty() && !c.terminals.back() && !c.timeouts.back()) c.timeouts.back() = 1;
  auto append = [](auto& x, const auto& y) { x.insert(x.end(), y.begin(), y.end()); };
  append(c.observations, b.observations);
  append(c.actions, b.actions);
  append(c.rewards, b.rewards);
  append(c.next_observations, b.next_observations);
  append(c.terminals, b.terminals);
  append(c.timeouts, b.timeouts);
  if (c.meta.env_name.empty()) c.meta.env_name = b.meta.env_name;
  c.meta.policy = a.meta.policy + " + " + b.meta.policy;
  c.meta.seed = -1;
  return c;
}

}  // namespace rlpp::train::offline
