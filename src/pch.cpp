// Owns the precompiled LibTorch header (see CMakeLists.txt).
