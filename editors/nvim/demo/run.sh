#!/usr/bin/env bash
# Open a fresh copy of examples/ in Neovim with the hotmod plugin (make demo).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../../.." && pwd)
venv=${VENV:-$repo/.venv}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$repo/examples" "$work/shop-demo"
cd "$work/shop-demo"
HOTMOD_PLUGIN_DIR="$repo/editors/nvim" HOTMOD_EXE="$venv/bin/hotmod" \
  "$venv/bin/nvim" --clean -u "$repo/editors/nvim/demo/init.lua"
