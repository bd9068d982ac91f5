#!/bin/sh
# Builds mtl and runs the whole test suite with ctest (the README's test command).
#   scripts/test.sh             release build in build/ (gcc, warnings are errors)
#   scripts/test.sh --sanitize  debug build with AddressSanitizer + UBSan in build-asan/ (clang)
# Real-data tests read ../shared/data or $MTL_DATA.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
# build quietly; show the whole log if it fails
build() {
    mkdir -p "$1"
    if ! cmake --build "$1" -j "$jobs" >"$1/build.log" 2>&1; then
        cat "$1/build.log"
        echo "test.sh: the build in $1 failed" >&2
        exit 1
    fi
}
case "${1:-}" in
"")
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMTL_WERROR=ON >/dev/null
    build build
    ctest --test-dir build --output-on-failure -j "$jobs"
    ;;
--sanitize)
    CC=clang cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMTL_SANITIZE=ON -DMTL_WERROR=ON >/dev/null
    build build-asan
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        ctest --test-dir build-asan --output-on-failure -j "$jobs"
    ;;
*)
    echo "test.sh: unknown option '$1' (expected --sanitize or nothing)" >&2
    exit 2
    ;;
esac
