# Injected into llama.cpp's own CMakeLists (CMAKE_PROJECT_llama.cpp_INCLUDE) by
# scripts/install_local_models.sh. llama-cpp-python forces LLAMA_BUILD_COMMON on (a cache
# variable set with FORCE, which -D cannot override); fleetbench calls libllama and ggml
# only, so the common library (52 of the build's compile units, the slowest ones) is turned
# off here: a normal variable shadows the cache one, and option() keeps it (CMP0077).
set(LLAMA_BUILD_COMMON OFF)
