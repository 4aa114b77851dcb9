// Guards against a known wrong-code bug of the compiler rlpp is built with: GCC 12 at -O2/-O3 with
// AVX-512 (-march=native on an AVX-512 machine) materialises the constant initializer list
// {1, 1, 0, 0} of a std::vector<double> as a broadcast of 1.0. The default build targets
// x86-64-v3 with generic tuning (cmake/CpuFlags.cmake); this test fails if that protection is lost.
#include <gtest/gtest.h>

#include <vector>

namespace {

__attribute__((noinline)) double sum_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}

TEST(Toolchain, SmallConstantVectorsAreNotMiscompiled) {
  const std::vector<double> v = {1, 1, 0, 0};
  EXPECT_EQ(v[2], 0.0);
  EXPECT_EQ(v[3], 0.0);
  EXPECT_EQ(sum_of(v), 2.0);
  const std::vector<double> w = {0.7, 0.7, 0.2, 0.9};
  EXPECT_DOUBLE_EQ(sum_of(w), 2.5);
}

}  // namespace
