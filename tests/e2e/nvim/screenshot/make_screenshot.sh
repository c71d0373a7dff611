#!/usr/bin/env bash
# Real Neovim in tmux on a copy of examples/ -> docs/img/nvim-diagnostics.png
# Needs: tmux, aha, chromium (Debian: apt-get install -y tmux aha chromium).
# Usage: tests/e2e/nvim/screenshot/make_screenshot.sh [out.png]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../../.." && pwd)
out=${1:-$repo/docs/img/nvim-diagnostics.png}
venv=${VENV:-$repo/.venv}
nvim=${HOTMOD_NVIM:-$venv/bin/nvim}
cols=${COLS:-132}
rows=${ROWS:-30}
wait_s=${WAIT_S:-12}
for tool in tmux aha chromium; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y tmux aha chromium)" >&2; exit 1; }
done

work=$(mktemp -d)
sock=hotmod-shot-$$
cleanup() { tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cp -r "$repo/examples" "$work/shop-demo"
find "$work/shop-demo" -name __pycache__ -prune -exec rm -rf {} +
cat >"$work/tmux.conf" <<'CONF'
set -g default-terminal "tmux-256color"
set -ga terminal-overrides ",*:RGB"
set -g status off
CONF

tmux -L "$sock" -f "$work/tmux.conf" new-session -d -s shot -x "$cols" -y "$rows" -c "$work/shop-demo" \
  env HOTMOD_PLUGIN_DIR="$repo/editors/nvim" HOTMOD_EXE="$venv/bin/hotmod" \
  XDG_STATE_HOME="$work/state" XDG_CONFIG_HOME="$work/config" COLORTERM=truecolor \
  "$nvim" --clean -u "$repo/editors/nvim/demo/init.lua"

# wait until both diagnostics are on screen and the check is over
for _ in $(seq $((wait_s * 4))); do
  screen=$(tmux -L "$sock" capture-pane -t shot -p)
  if grep -q "ImportError" <<<"$screen" && grep -q "importing 'shop.cart' failed" <<<"$screen" \
    && ! grep -q "hotmod: checking\|hotmod: starting" <<<"$screen"; then
    break
  fi
  sleep 0.25
done
sleep 0.5
tmux -L "$sock" capture-pane -t shot -e -p >"$work/screen.ansi"
tmux -L "$sock" send-keys -t shot Escape ':qa!' Enter

bg='#14161b'
aha --black --title "hotmod in Neovim" <"$work/screen.ansi" \
  | sed -e "s|<body style=\"color:white; background-color:black\">|<body style=\"margin:0; color:#e0e2ea; background-color:$bg\">|" \
        -e "s|<pre>|<pre style=\"margin:0; padding:10px 12px; font-family:'DejaVu Sans Mono',monospace; font-size:15px; line-height:19px\">|" \
  >"$work/screen.html"

# DejaVu Sans Mono 15px: 9.04 px per column, 19 px per row
width=$(( (cols * 904 + 99) / 100 + 24 ))
height=$(( rows * 19 + 20 ))
mkdir -p "$(dirname "$out")"
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
  --window-size="$width,$height" --screenshot="$out" "file://$work/screen.html" >/dev/null 2>&1
echo "wrote $out (${width}x${height})"
