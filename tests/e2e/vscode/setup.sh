#!/usr/bin/env bash
# One-time (cached) setup for the VS Code end-to-end test:
#   - Debian packages: chromium (the browser), ripgrep (code-server's search,
#     see below), libkrb5-dev (code-server builds the `kerberos` module);
#   - code-server 4.100.3 (= VS Code 1.100.3, the newest that runs on Node 20)
#     from the npm registry, into $HOTMOD_E2E_CACHE (default ~/.cache/hotmod-e2e);
#   - playwright-core (drives Debian's Chromium) into ./node_modules.
# Offline-safe apart from the npm registry and Debian's archive. Idempotent:
# a second run takes a second. `--apt` installs missing Debian packages (root).
set -euo pipefail
cd "$(dirname "$0")"

CODE_SERVER_VERSION=4.100.3
CACHE=${HOTMOD_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/hotmod-e2e}
PREFIX=$CACHE/code-server-$CODE_SERVER_VERSION
start=$SECONDS

say() { echo "== e2e setup: $*"; }

# -- Debian packages -----------------------------------------------------------
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v rg >/dev/null || missing+=(ripgrep)
command -v krb5-config >/dev/null || missing+=(libkrb5-dev)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "${1:-}" = --apt ]; then
    say "apt-get install ${missing[*]}"
    apt-get update -q && apt-get install -y -q "${missing[@]}"
  else
    say "missing Debian packages: ${missing[*]}"
    say "run: apt-get update && apt-get install -y chromium libkrb5-dev ripgrep   (or $0 --apt)"
    exit 1
  fi
fi

# -- code-server ------------------------------------------------------------------
if [ -x "$PREFIX/node_modules/.bin/code-server" ] && [ -f "$PREFIX/.installed" ]; then
  say "code-server $CODE_SERVER_VERSION already in $PREFIX"
else
  # @vscode/ripgrep 1.15.11 (inside code-server) downloads rg from GitHub on
  # install unless its cache has the tarball: give it Debian's rg.
  tmp=${TMPDIR:-/tmp}
  rg_cache=$tmp/vscode-ripgrep-cache-1.15.11
  rg_tar=$rg_cache/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz
  mkdir -p "$rg_cache"
  if [ ! -s "$rg_tar" ]; then
    rg_dir=$(mktemp -d)
    cp "$(command -v rg)" "$rg_dir/rg"
    tar -C "$rg_dir" -czf "$rg_tar" rg
    rm -rf "$rg_dir"
  fi
  say "npm install code-server@$CODE_SERVER_VERSION into $PREFIX (about 80 s from nothing)"
  rm -rf "$PREFIX"
  mkdir -p "$PREFIX"
  echo '{"name": "hotmod-e2e-code-server", "private": true}' > "$PREFIX/package.json"
  # npm 11.x blocks dependencies' install scripts by default; code-server's
  # postinstall runs nested npm installs that need theirs (native modules).
  # The last three variables are the ones older npm versions need.
  (cd "$PREFIX" &&
    npm_config_dangerously_allow_all_scripts=true \
    npm_config_yes=true npm_config_unsafe_perm=true npm_config_fund=false npm_config_audit=false \
    npm install "code-server@$CODE_SERVER_VERSION" --foreground-scripts --no-progress --loglevel=error \
    > "$PREFIX.log" 2>&1) || { tail -40 "$PREFIX.log"; say "code-server install FAILED (log: $PREFIX.log)"; exit 1; }
  # --config: without it code-server writes ~/.config/code-server/config.yaml.
  "$PREFIX/node_modules/.bin/code-server" --config "$PREFIX/config.yaml" --version
  touch "$PREFIX/.installed"
fi

# -- playwright-core ----------------------------------------------------------------
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then
  say "playwright-core already installed"
else
  say "npm ci (playwright-core)"
  npm ci --prefer-offline --no-progress --loglevel=error --fund=false --audit=false
fi

say "ready in $((SECONDS - start)) s (code-server: $PREFIX)"
