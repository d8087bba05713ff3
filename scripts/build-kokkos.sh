#!/usr/bin/env bash
# Builds Kokkos with the OpenMP backend (plus CUDA where nvcc and a GPU are present) from
# Debian's trilinos source package into a local prefix that hetero configures against.
#
# Usage: scripts/build-kokkos.sh [--prefix DIR] [--jobs N] [--no-cuda]
#   --prefix DIR  install prefix (default: third_party/kokkos-openmp in the source tree)
#   --jobs N      parallel compile jobs (default: 2)
#   --no-cuda     build the OpenMP backend only, even where a GPU is present
# Idempotent: a prefix already holding the same build is left as it is, and the source is
# fetched and configured once. Only packages/kokkos of the trilinos source is kept: it is a
# standalone CMake project (Kokkos 3.4.1 in Debian 12's trilinos 13.2).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prefix="$root/third_party/kokkos-openmp"
jobs=2
want_cuda=auto

die() {
  echo "build-kokkos: $*" >&2
  exit 1
}
say() { echo "build-kokkos: $*"; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --jobs) [ $# -ge 2 ] || die "--jobs needs a number"; jobs="$2"; shift 2 ;;
    --jobs=*) jobs="${1#--jobs=}"; shift ;;
    --no-cuda) want_cuda=off; shift ;;
    -h | --help) sed -n '2,11s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "--jobs must be a positive integer, got '$jobs'"
mkdir -p "$prefix" || die "cannot create the prefix $prefix"
prefix="$(cd "$prefix" && pwd)"

third_party="$root/third_party"
mkdir -p "$third_party"
# Nothing under third_party/ belongs in version control.
[ -f "$third_party/.gitignore" ] || echo "*" >"$third_party/.gitignore"
work="$third_party/work/kokkos"
source_dir="$work/src"
mkdir -p "$work/download"

for tool in cmake g++ tar; do
  command -v "$tool" >/dev/null || die "'$tool' is missing; run scripts/install-deps.sh"
done
generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi

# --- which backends ------------------------------------------------------------------------
# CUDA needs nvcc, a visible GPU, and an architecture Kokkos 3.4 knows (up to Ampere 8.6).
backends="OpenMP"
cuda_args=()
cxx_compiler="$(command -v g++)"
if [ "$want_cuda" = auto ]; then
  nvcc="$(command -v nvcc || true)"
  [ -n "$nvcc" ] || [ ! -x /usr/local/cuda/bin/nvcc ] || nvcc=/usr/local/cuda/bin/nvcc
  capability=""
  if [ -n "$nvcc" ] && command -v nvidia-smi >/dev/null; then
    capability="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n1 | tr -d ' ')" || capability=""
  fi
  if [ -z "$nvcc" ]; then
    say "no nvcc found: building the OpenMP backend only"
  elif [ -z "$capability" ]; then
    say "nvcc found but no GPU is visible: building the OpenMP backend only"
  else
    case "$capability" in
      7.0) arch=VOLTA70 ;; 7.2) arch=VOLTA72 ;; 7.5) arch=TURING75 ;;
      8.0) arch=AMPERE80 ;; 8.6) arch=AMPERE86 ;;
      *) arch="" ;;
    esac
    if [ -z "$arch" ]; then
      say "GPU compute capability $capability is unknown to Kokkos 3.4: building the OpenMP backend only (use a newer Kokkos for this GPU)"
    else
      backends="OpenMP+CUDA($arch)"
      export PATH="$(dirname "$nvcc"):$PATH"
      cxx_compiler="$source_dir/packages/kokkos/bin/nvcc_wrapper"
      cuda_args=(-DKokkos_ENABLE_CUDA=ON -DKokkos_ENABLE_CUDA_LAMBDA=ON "-DKokkos_ARCH_$arch=ON")
    fi
  fi
fi

stamp="$prefix/.hetero-kokkos-build"
stamp_text="kokkos 3.4.1 from trilinos source; backends $backends; compiler $(g++ -dumpfullversion)"
print_usage() {
  say "Kokkos ($backends) is installed in $prefix"
  say "configure hetero against it with:"
  if [ ${#cuda_args[@]} -gt 0 ]; then
    # Kokkos' default execution space is then Cuda: hetero's node compiles with its wrapper.
    echo "  cmake -S $root -B $root/build-kokkos-cuda -G Ninja -DKokkos_ROOT=$prefix -DCMAKE_CXX_COMPILER=$prefix/bin/nvcc_wrapper"
  else
    echo "  cmake -S $root -B $root/build-kokkos-openmp -G Ninja -DKokkos_ROOT=$prefix"
  fi
}
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$stamp_text" ] &&
  { [ -f "$prefix/lib/cmake/Kokkos/KokkosConfig.cmake" ] ||
    [ -f "$prefix/lib64/cmake/Kokkos/KokkosConfig.cmake" ]; }; then
  say "already built"
  print_usage
  exit 0
fi

# --- source: packages/kokkos of Debian's trilinos ------------------------------------------
fetch_with_apt() {
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || return 1
    sudo="sudo"
  fi
  if ! apt-cache showsrc trilinos >/dev/null 2>&1; then
    say "adding a deb-src entry for bookworm (/etc/apt/sources.list.d/hetero-deb-src.sources)"
    printf '%s\n' "Types: deb-src" "URIs: http://deb.debian.org/debian" "Suites: bookworm" \
      "Components: main" "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" |
      $sudo tee /etc/apt/sources.list.d/hetero-deb-src.sources >/dev/null
    $sudo apt-get update -qq
  fi
  # Downloads the .dsc, the upstream tarball and the Debian changes; apt checks their hashes.
  (cd "$work/download" && apt-get source --download-only -qq trilinos)
}

if [ ! -f "$source_dir/packages/kokkos/CMakeLists.txt" ]; then
  tarball="$(ls "$work"/download/trilinos_*.orig.tar.* 2>/dev/null | head -n1 || true)"
  if [ -z "$tarball" ]; then
    command -v apt-get >/dev/null || die "apt-get is missing: this script needs Debian's trilinos source"
    say "fetching Debian's trilinos source (about 170 MB; only packages/kokkos is kept)"
    fetch_with_apt || die "could not fetch the trilinos source with apt-get (needs root or sudo for the deb-src entry)"
    tarball="$(ls "$work"/download/trilinos_*.orig.tar.* 2>/dev/null | head -n1 || true)"
    [ -n "$tarball" ] || die "apt-get source left no trilinos_*.orig.tar.* in $work/download"
  fi
  say "extracting packages/kokkos from $(basename "$tarball")"
  rm -rf "$source_dir.partial"
  mkdir -p "$source_dir.partial"
  tar -xf "$tarball" -C "$source_dir.partial" --strip-components=1 --wildcards '*/packages/kokkos/*'
  [ -f "$source_dir.partial/packages/kokkos/CMakeLists.txt" ] || die "$tarball has no packages/kokkos"
  rm -rf "$source_dir"
  mv "$source_dir.partial" "$source_dir"
  # The orig tarball is only needed once.
  rm -f "$work"/download/trilinos_*.orig.tar.*
fi

# --- configure, build, install -------------------------------------------------------------
build_dir="$work/build-$(echo "$backends" | tr -c 'A-Za-z0-9\n' '-')"
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  say "configuring Kokkos ($backends)"
  cmake -S "$source_dir/packages/kokkos" -B "$build_dir" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DCMAKE_INSTALL_LIBDIR=lib \
    -DCMAKE_CXX_COMPILER="$cxx_compiler" \
    -DCMAKE_CXX_STANDARD=17 \
    -DCMAKE_CXX_FLAGS="-ffp-contract=off" \
    -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DBUILD_SHARED_LIBS=OFF \
    -DKokkos_ENABLE_OPENMP=ON \
    -DKokkos_ENABLE_SERIAL=OFF \
    -DKokkos_ENABLE_TESTS=OFF \
    -DKokkos_ENABLE_EXAMPLES=OFF \
    "${cuda_args[@]}" >"$work/configure.log" 2>&1 ||
    { tail -n 20 "$work/configure.log" >&2; rm -f "$build_dir/CMakeCache.txt"; die "configuring Kokkos failed (log: $work/configure.log)"; }
fi
say "building Kokkos with $jobs jobs (log: $work/build.log)"
start=$(date +%s)
cmake --build "$build_dir" -j "$jobs" >"$work/build.log" 2>&1 ||
  { tail -n 30 "$work/build.log" >&2; die "building Kokkos failed (log: $work/build.log)"; }
cmake --install "$build_dir" >"$work/install.log" 2>&1 ||
  { tail -n 20 "$work/install.log" >&2; die "installing Kokkos into $prefix failed"; }
echo "$stamp_text" >"$stamp"
say "built and installed in $(($(date +%s) - start)) s"
print_usage
