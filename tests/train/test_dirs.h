// Temporary directories for tests that write runs: the one shared helper, common/temp_dir.h.
#pragma once
#include "common/temp_dir.h"
