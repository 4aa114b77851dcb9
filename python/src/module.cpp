// rlpp._rlpp: the compiled half of `import rlpp` (python/rlpp/ holds the Python half).
#include "bindings.h"
#include "rlpp/core/build_info.h"
#include "rlpp/core/error.h"
#include "rlpp/version.h"

namespace rlpp::python {

namespace {

py::object to_python(const toml::node& node);

py::list to_list(const toml::array& array) {
  py::list out;
  for (const auto& e : array) out.append(to_python(e));
  return out;
}

py::object to_python(const toml::node& node) {
  if (const auto* t = node.as_table()) return to_dict(*t);
  if (const auto* a = node.as_array()) return to_list(*a);
  if (auto v = node.value_exact<bool>()) return py::bool_(*v);
  if (auto v = node.value_exact<int64_t>()) return py::int_(*v);
  if (auto v = node.value_exact<double>()) return py::float_(*v);
  if (auto v = node.value_exact<std::string>()) return py::str(*v);
  return py::none();
}

// One Python value as a TOML node; `what` names it in errors.
toml::array to_array(const py::handle& list, const std::string& what);

void insert_value(toml::table& t, const std::string& key, const py::handle& v, const std::string& what) {
  if (py::isinstance<py::bool_>(v)) {
    t.insert_or_assign(key, v.cast<bool>());
  } else if (py::isinstance<py::int_>(v)) {
    t.insert_or_assign(key, v.cast<int64_t>());
  } else if (py::isinstance<py::float_>(v)) {
    t.insert_or_assign(key, v.cast<double>());
  } else if (py::isinstance<py::str>(v)) {
    t.insert_or_assign(key, v.cast<std::string>());
  } else if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
    t.insert_or_assign(key, to_array(v, what));
  } else if (py::hasattr(v, "item") && py::hasattr(v, "dtype")) {  // a NumPy or torch scalar
    insert_value(t, key, v.attr("item")(), what);
  } else {
    throw core::UserError(what + ": " + key + " must be a bool, int, float, str or a list of them, got " +
                          py::str(py::type::of(v).attr("__name__")).cast<std::string>());
  }
}

toml::array to_array(const py::handle& list, const std::string& what) {
  toml::array out;
  for (const auto& e : list) {
    toml::table one;
    insert_value(one, "v", e, what);
    out.push_back(*one.get("v"));
  }
  return out;
}

}  // namespace

py::dict to_dict(const toml::table& table) {
  py::dict out;
  for (const auto& [k, v] : table) out[py::str(std::string(k.str()))] = to_python(v);
  return out;
}

toml::table options_table(const py::dict& options, const std::string& source) {
  toml::table t;
  for (const auto& [k, v] : options) insert_value(t, py::str(k).cast<std::string>(), v, source);
  return t;
}

core::Recipe options_recipe(const std::string& section, const py::dict& options, const std::string& source) {
  core::Recipe r = core::Recipe::parse("", source);
  r.table().insert(section, options_table(options, source));
  return r;
}

}  // namespace rlpp::python

PYBIND11_MODULE(_rlpp, m) {
  namespace py = pybind11;
  using namespace rlpp::python;
  m.doc() = "rlpp: policy optimization in C++ (environments, objectives, trainers, models)";
  m.attr("__version__") = RLPP_VERSION;
  m.attr("build_commit") = rlpp::core::build_commit();  // the commit the extension was built from
  // rlpp's user errors (a bad option, a missing file, an unknown name) are ValueErrors with the same
  // one-line message the command line prints.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const rlpp::core::UserError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });
  py::module_ envs = m.def_submodule("envs", "rlpp's environments as batched vector environments");
  bind_envs(envs);
  py::module_ algo = m.def_submodule("algo", "advantage estimators, objectives, aggregations, KL, selectors, samplers");
  bind_algo(algo);
  py::module_ run = m.def_submodule("run", "train, resume and evaluate runs");
  bind_run(run);
  py::module_ certify = m.def_submodule("certify", "game-theoretic convergence certificates");
  bind_certify(certify);
  py::module_ lm = m.def_submodule("lm", "language models: load, tokenize, generate, teacher-forced log-probs");
  bind_lm(lm);
}
