#!/usr/bin/env bash
# The VS Code end-to-end test, from nothing: setup (cached), the .vsix, the test.
#   tests/e2e/vscode/run.sh [--apt] [--no-screenshot] [--keep]
# --apt: apt-get install the missing Debian packages (root); the other flags go
# to e2e.mjs. Writes docs/img/vscode-diagnostics.png unless --no-screenshot.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)

setup_args=()
test_args=()
for arg in "$@"; do
  case $arg in
    --apt) setup_args+=(--apt) ;;
    *) test_args+=("$arg") ;;
  esac
done

"$here/setup.sh" "${setup_args[@]}"

echo "== e2e: packaging the extension"
if [ -d "$repo/editors/vscode/node_modules" ]; then
  (cd "$repo/editors/vscode" && rm -f ./*.vsix && npm run --silent package)
else
  "$repo/editors/vscode/ci.sh"
fi

exec node "$here/e2e.mjs" "${test_args[@]}"
