// rlpp.envs: every registered environment as a batch of N copies stepped in C++. Observations,
// rewards and flags are NumPy arrays that view the batch's own buffers (no copy; read-only; their
// contents change at the next reset/step, so copy what you keep). The GIL is released while the
// copies step. The Gymnasium-style wrapper (spaces, infos) is python/rlpp/envs.py.
#include <cmath>
#include <memory>
#include <vector>

#include <pybind11/numpy.h>

#include "bindings.h"
#include "rlpp/core/error.h"
#include "rlpp/env/registry.h"
#include "rlpp/env/vec_env.h"

namespace rlpp::python {

namespace {

class PyVecEnv {
 public:
  PyVecEnv(const std::string& name, int num_envs, int num_threads, bool clip_action) {
    env::VecEnvOptions opts;
    opts.num_envs = num_envs;
    opts.num_threads = num_threads;
    opts.clip_action = clip_action;
    env_ = env::make(name, opts);
    actions_.resize(static_cast<size_t>(env_->num_envs() * env_->act_dim()));
  }

  env::VecEnv& env() { return *env_; }

  void reset(uint64_t seed) {
    py::gil_scoped_release release;
    env_->reset(seed);
  }

  // actions: (N,) or (N, 1) indices for a discrete space, (N, dim) for a box; any numeric dtype.
  void step(const py::array& actions) {
    const env::Space& a = env_->spec().action;
    const int64_t n = env_->num_envs(), d = env_->act_dim();
    const auto f = py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(actions);
    if (!f) throw core::UserError("step: actions must be a numeric array");
    const bool shape_ok = a.is_discrete() ? (f.ndim() == 1 && f.shape(0) == n) ||
                                                (f.ndim() == 2 && f.shape(0) == n && f.shape(1) == 1)
                                          : f.ndim() == 2 && f.shape(0) == n && f.shape(1) == d;
    if (!shape_ok) {
      std::string got = "(";
      for (py::ssize_t i = 0; i < f.ndim(); ++i) got += (i ? ", " : "") + std::to_string(f.shape(i));
      throw core::UserError("step: actions must have shape " +
                            (a.is_discrete() ? "(" + std::to_string(n) + ",)" : "(" + std::to_string(n) + ", " +
                                                                                  std::to_string(d) + ")") +
                            " for " + env_->spec().id + " with num_envs = " + std::to_string(n) + ", got " + got + ")");
    }
    const float* src = f.data();
    for (int64_t i = 0; i < n * d; ++i) {
      const float v = src[i];
      if (a.is_discrete() && !(v >= 0 && v < static_cast<float>(a.n) && v == std::floor(v))) {
        throw core::UserError("step: action " + std::to_string(v) + " of copy " + std::to_string(i) + " is not in " +
                              env_->spec().id + "'s Discrete(" + std::to_string(a.n) + ")");
      }
      actions_[static_cast<size_t>(i)] = v;
    }
    py::gil_scoped_release release;
    env_->step(actions_.data());
  }

 private:
  std::unique_ptr<env::VecEnv> env_;
  std::vector<float> actions_;  // (N, act_flat)
};

// A read-only array of `shape` over `data`, kept alive by `owner`.
template <class T>
py::array view(const py::object& owner, const T* data, std::vector<py::ssize_t> shape, const py::dtype& dtype) {
  std::vector<py::ssize_t> strides(shape.size());
  py::ssize_t s = static_cast<py::ssize_t>(sizeof(T));
  for (size_t k = shape.size(); k-- > 0;) {
    strides[k] = s;
    s *= shape[k];
  }
  py::array a(dtype, shape, strides, data, owner);
  a.attr("setflags")(py::arg("write") = false);
  return a;
}

py::dict space_dict(const env::Space& s) {
  py::dict d;
  d["kind"] = s.is_discrete() ? "discrete" : "box";
  d["n"] = s.n;
  d["dim"] = s.dim;
  d["low"] = s.low;
  d["high"] = s.high;
  return d;
}

}  // namespace

void bind_envs(py::module_& m) {
  m.def("names", [] { return env::registry().names(); }, "the registered environment ids");
  py::class_<PyVecEnv>(m, "VecEnv", "N copies of one environment stepped together (same-step auto-reset)")
      .def(py::init<const std::string&, int, int, bool>(), py::arg("name"), py::arg("num_envs") = 1,
           py::arg("num_threads") = 1, py::arg("clip_action") = true)
      .def("reset", &PyVecEnv::reset, py::arg("seed"), "reset every copy; copy i is seeded with seed + i")
      .def("step", &PyVecEnv::step, py::arg("actions"))
      .def_property_readonly("num_envs", [](PyVecEnv& e) { return e.env().num_envs(); })
      .def_property_readonly("spec",
                             [](PyVecEnv& e) {
                               const env::Spec& s = e.env().spec();
                               py::dict d;
                               d["id"] = s.id;
                               d["observation"] = space_dict(s.observation);
                               d["action"] = space_dict(s.action);
                               d["max_episode_steps"] = s.max_episode_steps;
                               d["reward_threshold"] = s.reward_threshold;
                               return d;
                             })
      // Views of the batch's buffers (see the top of this file).
      .def_property_readonly("obs",
                             [](py::object self) {
                               env::VecEnv& e = self.cast<PyVecEnv&>().env();
                               return view(self, e.obs(), {e.num_envs(), e.obs_dim()}, py::dtype::of<float>());
                             })
      .def_property_readonly("reward",
                             [](py::object self) {
                               env::VecEnv& e = self.cast<PyVecEnv&>().env();
                               return view(self, e.reward(), {e.num_envs()}, py::dtype::of<float>());
                             })
      .def_property_readonly("terminated",
                             [](py::object self) {
                               env::VecEnv& e = self.cast<PyVecEnv&>().env();
                               return view(self, e.terminated(), {e.num_envs()}, py::dtype::of<bool>());
                             })
      .def_property_readonly("truncated",
                             [](py::object self) {
                               env::VecEnv& e = self.cast<PyVecEnv&>().env();
                               return view(self, e.truncated(), {e.num_envs()}, py::dtype::of<bool>());
                             })
      .def_property_readonly("final_obs",
                             [](py::object self) {
                               env::VecEnv& e = self.cast<PyVecEnv&>().env();
                               return view(self, e.final_obs(), {e.num_envs(), e.obs_dim()}, py::dtype::of<float>());
                             })
      .def_property_readonly("episode_return",
                             [](py::object self) {
                               env::VecEnv& e = self.cast<PyVecEnv&>().env();
                               return view(self, e.episode_return(), {e.num_envs()}, py::dtype::of<double>());
                             })
      .def_property_readonly("episode_length", [](py::object self) {
        env::VecEnv& e = self.cast<PyVecEnv&>().env();
        return view(self, e.episode_length(), {e.num_envs()}, py::dtype::of<int>());
      });
}

}  // namespace rlpp::python
