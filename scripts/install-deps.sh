#!/bin/sh
# Installs the Debian 12 packages mtl needs that are missing, and says which.
#   build:  gcc, make (build-essential), cmake, pkg-config
#   libs:   libopenblas-dev (GEMM through CBLAS), libmatio-dev (CWRU .mat files), zlib1g-dev (gzip'd CSV),
#           libfftw3-dev (FFT-magnitude input), libsamplerate0-dev (resampling records to a common rate)
#   checks: clang, libomp-dev, libclang-rt-14-dev (second compiler, its OpenMP and sanitizer runtimes)
#   torch:  python3-torch, python3-numpy (Debian's PyTorch 1.13): the tests that load mtl's
#           checkpoints into the PyTorch reference models, the fixture scripts, the benchmarks.
#           --no-torch leaves them out (those tests then report "skipped", never "passed").
# Uses sudo for apt-get when not run as root.
set -eu
pkgs="build-essential cmake pkg-config libopenblas-dev libmatio-dev zlib1g-dev libfftw3-dev libsamplerate0-dev clang libomp-dev libclang-rt-14-dev"
torch="python3-torch python3-numpy"
for arg in "$@"; do
    case "$arg" in
    --torch) ;; # the default; kept for old command lines
    --no-torch) torch="" ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$arg' (expected --no-torch or --help)" >&2; exit 2 ;;
    esac
done
pkgs="$pkgs $torch"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present:$(printf ' %s' $pkgs)"
    exit 0
fi
echo "install-deps: installing:$missing"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
echo "install-deps: done"
