// Run by CMake at configure time with the compile flags the build will use (cmake/CpuFlags.cmake),
// together with tests/core/toolchain_test.cpp itself when GoogleTest is present: exits 0 when the
// compiler is free of the wrong-code bug that test guards against (GCC 12 with AVX-512 tuning
// materialises the constant initializer {1, 1, 0, 0} of a std::vector<double> as a broadcast of
// 1.0), and when the CPU runs code built with those flags. The bug is sensitive to the shape of
// the code (elements compared through references in a non-inlined helper, as a test framework
// does): keep this file as it is; verified to fail under -march=x86-64-v3 -mtune=skylake-avx512.
#include <cstdio>
#include <vector>
namespace {
__attribute__((noinline)) double sum_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
int failures = 0;
template <class A, class B>
__attribute__((noinline)) void expect_eq(const char* what, const A& got, const B& want) {
  if (!(got == want)) { ++failures; std::printf("%s\n", what); }
}
__attribute__((noinline)) void check() {
  const std::vector<double> v = {1, 1, 0, 0};
  expect_eq("v[2]", v[2], 0.0);
  expect_eq("v[3]", v[3], 0.0);
  expect_eq("sum", sum_of(v), 2.0);
}
}  // namespace
int main() { check(); return failures == 0 ? 0 : 1; }
