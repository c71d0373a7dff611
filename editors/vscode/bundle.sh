#!/usr/bin/env bash
# Puts hotmod's server and its Python dependencies into bundled/libs, for a
# .vsix that needs nothing installed but a Python 3.11+ (the extension runs
# bundled/serve.py with it). Build time only: the extension installs nothing.
#
#   bundle.sh [--target TARGET]   TARGET: a `vsce package --target` name
#                                 (default: this machine's, e.g. linux-x64)
#   bundle.sh --lock              rewrite bundled/requirements.txt: the newest
#                                 versions that pyproject.toml's ranges allow
#
# The dependencies are the exact versions of bundled/requirements.txt (all of
# them, transitive ones included), as wheels from PyPI for TARGET and CPython
# 3.11+: pure Python or the stable ABI (abi3), so one bundle serves every
# Python 3.11+; a wheel built for one CPython version only gets the extension
# modules of 3.12-3.14 added beside its own. The wheels are downloaded once
# per lock file and target into HOTMOD_WHEELHOUSE (default
# ~/.cache/hotmod-vsix-wheels) and re-installed only when the lock file or the
# target changes; hotmod itself is installed from this checkout every time.
# Environment: PYTHON, a Python 3.11+ with pip (default: the repository's
# .venv/bin/python, else python3).
set -euo pipefail
cd "$(dirname "$0")"
repo=$(cd ../.. && pwd)
libs=bundled/libs
lock=bundled/requirements.txt
stamp=bundled/.libs-stamp

say() { echo "== bundle: $*"; }

python=${PYTHON:-}
if [ -z "$python" ]; then
  if [ -x "$repo/.venv/bin/python" ]; then python=$repo/.venv/bin/python; else python=python3; fi
fi
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null ||
  { say "$python is not a Python 3.11+ (set PYTHON)"; exit 1; }
pip() { "$python" -m pip --disable-pip-version-check --no-input "$@"; }

if [ "${1:-}" = --lock ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  say "resolving pyproject.toml's dependencies for $lock"
  pip install --quiet --target "$tmp" --only-binary=:all: "$repo"
  rm -rf "$tmp"/hotmod "$tmp"/hotmod-*.dist-info
  {
    echo "# What the .vsix bundles (bundle.sh installs exactly these, for every target)."
    echo "# Generated from pyproject.toml's dependencies by: editors/vscode/bundle.sh --lock"
    pip list --path "$tmp" --format=freeze | sort -f
  } > "$lock"
  cat "$lock"
  exit 0
fi

target=
if [ "${1:-}" = --target ]; then target=${2:?--target needs a value}; fi
if [ -z "$target" ]; then
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) target=linux-x64 ;;
    Linux-aarch64) target=linux-arm64 ;;
    Darwin-x86_64) target=darwin-x64 ;;
    Darwin-arm64) target=darwin-arm64 ;;
    *) say "no default target for $(uname -s)-$(uname -m): pass --target"; exit 1 ;;
  esac
fi
# pip's platform tags for each VS Code target (pip widens the macOS ones to
# older macOS versions itself).
case $target in
  linux-x64) platforms=(manylinux_2_17_x86_64 manylinux2014_x86_64) ;;
  linux-arm64) platforms=(manylinux_2_17_aarch64 manylinux2014_aarch64) ;;
  darwin-x64) platforms=(macosx_11_0_x86_64) ;;
  darwin-arm64) platforms=(macosx_11_0_arm64) ;;
  win32-x64) platforms=(win_amd64) ;;
  win32-arm64) platforms=(win_arm64) ;;
  *) say "unknown target $target (linux-x64, linux-arm64, darwin-x64, darwin-arm64, win32-x64, win32-arm64)"; exit 1 ;;
esac
platform_args=()
for p in "${platforms[@]}"; do platform_args+=(--platform "$p"); done
want="$(sha256sum "$lock" | cut -d' ' -f1) $target"
# The locked wheels of TARGET for each CPython, downloaded once per lock file
# and target: later builds (and CI runs on the same machine) install them
# without the network.
wheelhouse=${HOTMOD_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/hotmod-vsix-wheels}/${want:0:16}-$target
if [ ! -f "$wheelhouse/.complete" ]; then
  say "downloading the wheels of $lock for $target into $wheelhouse"
  rm -rf "$wheelhouse"
  for version in 3.11 3.12 3.13 3.14; do
    if ! pip download --quiet --no-deps --only-binary=:all: --implementation cp --python-version "$version" \
      "${platform_args[@]}" --dest "$wheelhouse/$version" -r "$lock"; then
      [ "$version" = 3.11 ] && { say "no wheels for $target"; exit 1; }
      say "no complete set of wheels for CPython $version on $target"
    fi
  done
  touch "$wheelhouse/.complete"
fi

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  say "dependencies for $target already in $libs ($lock unchanged)"
else
  say "installing $lock for $target into $libs"
  rm -rf "$libs"
  mkdir -p "$libs"
  pip install --quiet --no-index --find-links "$wheelhouse/3.11" --no-compile --no-deps --only-binary=:all: \
    --implementation cp --python-version 3.11 "${platform_args[@]}" --target "$libs" -r "$lock"
  # A wheel built for CPython 3.11 only (not abi3) would leave 3.12+ without
  # its extension modules: add theirs, which have their own file names.
  for wheel in "$wheelhouse"/3.1[2-9]/*-cp3*-cp3*.whl; do
    [ -e "$wheel" ] || continue
    "$python" - "$wheel" "$libs" <<'EOF'
import sys, zipfile
wheel, libs = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    z.extractall(libs, [n for n in z.namelist() if n.endswith((".so", ".pyd"))])
EOF
    say "added the extension modules of $(basename "$wheel")"
  done
  echo "$want" > "$stamp"
fi

say "installing hotmod from $repo"
rm -rf "$libs"/hotmod "$libs"/hotmod-*.dist-info "$libs/bin"
pip install --quiet --no-compile --no-deps --target "$libs" "$repo"
# Console scripts are made for the machine that built them; direct_url.json names this checkout.
rm -rf "$libs/bin" "$libs"/hotmod-*.dist-info/direct_url.json
echo "$target" > bundled/target
say "$libs: $(du -sh "$libs" | cut -f1) for $target"
