#!/usr/bin/env bash
# Emacs 30+ (eglot 1.16+ built in) for the Emacs end-to-end test. Idempotent:
# when an `emacs` of 30 or newer is on PATH it does nothing. `--apt` installs
# Debian's emacs-nox (root, no stdin): on bookworm, whose own emacs is 28,
# Emacs 30 from bookworm-backports (its archive is added to apt's sources
# when missing); elsewhere the release's own emacs-nox.
set -euo pipefail

say() { echo "== e2e setup: $*"; }

emacs_major() {
  command -v emacs >/dev/null && emacs --batch --eval '(princ emacs-major-version)' 2>/dev/null || echo 0
}

major=$(emacs_major)
if [ "$major" -ge 30 ]; then
  say "Emacs $major already installed ($(command -v emacs))"
  exit 0
fi

codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
target=()
if [ "$codename" = bookworm ]; then
  target=(-t bookworm-backports)
fi
if [ "${1:-}" != --apt ]; then
  say "no Emacs 30+ (found: ${major/#0/none}); run $0 --apt as root, or:"
  [ "$codename" = bookworm ] && say "  add bookworm-backports to apt's sources, then"
  say "  apt-get update && apt-get install -y ${target[*]} emacs-nox"
  exit 1
fi

if [ "$codename" = bookworm ] &&
  ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  say "adding bookworm-backports to apt's sources"
  cat > /etc/apt/sources.list.d/bookworm-backports.sources <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
fi
say "apt-get install ${target[*]} emacs-nox"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "${target[@]}" emacs-nox
say "Emacs $(emacs_major) installed"
