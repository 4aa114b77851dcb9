// Precompiled header: LibTorch is by far the most expensive include; every layer that uses it
// reuses this one PCH (see CMakeLists.txt).
#pragma once
#include <torch/torch.h>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>
