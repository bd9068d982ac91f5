#!/bin/sh
# Installs the Debian 12 packages mtl needs that are missing, and says which.
#   build:  gcc, make (build-essential), cmake, pkg-config
#   libs:   libopenblas-dev (GEMM through CBLAS), libmatio-dev (CWRU .mat files), zlib1g-dev (gzip'd CSV)
#   checks: clang, libomp-dev, libclang-rt-14-dev (second compiler, its OpenMP and sanitizer runtimes)
# With --torch it also installs python3-torch and python3-numpy (Debian's PyTorch 1.13),
# needed only to re-create the parity fixtures (tests/parity) and to run the benchmarks (bench/).
# Uses sudo for apt-get when not run as root.
set -eu
pkgs="build-essential cmake pkg-config libopenblas-dev libmatio-dev zlib1g-dev clang libomp-dev libclang-rt-14-dev"
for arg in "$@"; do
    case "$arg" in
    --torch) pkgs="$pkgs python3-torch python3-numpy" ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$arg' (expected --torch or --help)" >&2; exit 2 ;;
    esac
done
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
