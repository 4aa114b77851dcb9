"""`pip install .`: builds the extension with CMake (build/, as `make test` does) and installs the
package assembled in build/python/rlpp (see pyproject.toml)."""
import os
import subprocess

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))
BUILD = os.environ.get("RLPP_BUILD_DIR", os.path.join(ROOT, "build"))


class BuildWithCMake(build_py):
    def run(self):
        if not os.path.exists(os.path.join(BUILD, "CMakeCache.txt")):
            subprocess.check_call(["cmake", "-S", ROOT, "-B", BUILD, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release"])
        subprocess.check_call(["cmake", "--build", BUILD, "--target", "rlpp_python", "-j", str(os.cpu_count() or 2)])
        super().run()


class BinaryDistribution(Distribution):
    def has_ext_modules(self):  # the package holds a compiled extension: a platform wheel
        return True


setup(
    packages=["rlpp"],
    package_dir={"rlpp": os.path.relpath(os.path.join(BUILD, "python", "rlpp"), ROOT)},
    package_data={"rlpp": ["_rlpp*.so"]},
    cmdclass={"build_py": BuildWithCMake},
    distclass=BinaryDistribution,
    options={"build": {"build_base": os.path.relpath(os.path.join(BUILD, "setuptools"), ROOT)},
             "egg_info": {"egg_base": os.path.relpath(BUILD, ROOT)}},
)
