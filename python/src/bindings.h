// The pieces of the Python module rlpp._rlpp, one file per submodule (envs.cpp, algo.cpp, run.cpp,
// certify.cpp, lm.cpp), and what they share: options given as keyword arguments become a recipe
// section, so that every option is checked by the component's own Binder (bounds, unknown keys)
// exactly as a recipe would be.
#pragma once
#include <torch/extension.h>

#include <string>

#include "rlpp/core/config.h"

namespace rlpp::python {

namespace py = pybind11;

// `options` (bool, int, float, str and lists of them) as a TOML table; errors name `source`.
toml::table options_table(const py::dict& options, const std::string& source);
// A recipe whose section `section` holds `options` (bool, int, float, str and lists of them);
// errors about it name `source` (e.g. "rlpp.algo.objective('bapo')") and the key.
core::Recipe options_recipe(const std::string& section, const py::dict& options, const std::string& source);

// A TOML table as a Python dict (tables -> dicts, arrays -> lists).
py::dict to_dict(const toml::table& table);

void bind_envs(py::module_& m);
void bind_algo(py::module_& m);
void bind_run(py::module_& m);
void bind_certify(py::module_& m);
void bind_lm(py::module_& m);

}  // namespace rlpp::python
