#!/usr/bin/env bash
# The VS Code extension's CI: npm ci, compile, lint, unit tests, the bundled
# server (bundle.sh: hotmod and its dependencies from PyPI), package.
#   ci.sh [--target TARGET]   a `vsce package --target` name (default: this machine's)
# Needs Node 20+ and npm, and a Python 3.11+ with pip (bundle.sh); the network
# only for `npm ci` (the npm registry) and bundle.sh (PyPI), both cached.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")"

step() {
  local name=$1
  shift
  echo "== vscode: $name ($*)"
  local start=$SECONDS
  if ! "$@"; then
    echo "== vscode: $name FAILED"
    exit 1
  fi
  echo "== vscode: $name ok ($((SECONDS - start)) s)"
}

command -v node >/dev/null || { echo "== vscode: node is not installed"; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "== vscode: Node 20+ needed, found $(node --version)"
  exit 1
fi

export npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
total=$SECONDS
# `npm ci` wipes node_modules and takes 35-80 s even from a warm cache: skip it
# when node_modules was installed by this script from the same package-lock.json
# and Node major (HOTMOD_NPM_CI=1 forces it).
stamp=node_modules/.hotmod-ci-stamp
want="$(sha256sum package-lock.json | cut -d' ' -f1) node$major"
if [ "${HOTMOD_NPM_CI:-0}" != 1 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "== vscode: install skipped (node_modules matches package-lock.json; HOTMOD_NPM_CI=1 forces npm ci)"
else
  step "install" npm ci --prefer-offline --no-progress --loglevel=error
  echo "$want" > "$stamp"
fi
step "compile" npm run --silent compile
step "lint" npm run --silent lint
step "unit tests" npm test --silent
step "bundled server" ./bundle.sh "$@"
rm -f ./*.vsix
step "package" npm run --silent vsix
vsix=$(ls ./*.vsix)
echo "== vscode: built $vsix ($(du -k "$vsix" | cut -f1) KB): $(unzip -Z1 "$vsix" 2>/dev/null | grep -c '^extension/' || echo '?') files under extension/"
echo "== vscode: all steps ok in $((SECONDS - total)) s"
