#!/bin/sh
# scripts/deps.sh — check (and, as root, install) the Debian packages mule
# needs to build, test and run its demo.
#
#   scripts/deps.sh            build + test + demo packages
#   scripts/deps.sh --bench    also what `make bench` compares against
#   scripts/deps.sh --fuzz     also clang and libFuzzer for `make fuzz`
#   scripts/deps.sh --lint     also Universal Ctags for `make lint`
#
# Run as root it installs what is missing with apt-get (running
# `apt-get update` first only when a package is not known to apt).
# Otherwise it prints the exact command to run and exits 1.
set -eu

PKGS="build-essential pkg-config
libsodium-dev libarchive-dev libsqlite3-dev libetpan-dev libzstd-dev
libisal-dev libcmocka-dev libgnutls28-dev libqrencode-dev libpng-dev
sqlite3 sqlite3-tools zstd libarchive-tools mandoc python3
opensmtpd dovecot-imapd dovecot-pop3d"

for arg in "$@"; do
	case "$arg" in
	--bench) PKGS="$PKGS age sqlite3-tools time" ;;
	--fuzz) PKGS="$PKGS clang libclang-rt-14-dev" ;;
	--lint) PKGS="$PKGS universal-ctags" ;;
	*) echo "usage: scripts/deps.sh [--bench] [--fuzz] [--lint]" >&2; exit 2 ;;
	esac
done

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "mule: missing Debian packages:$missing" >&2
	echo "mule: install them with: sudo apt-get install -y$missing" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Update the package lists only when apt does not know a missing package.
need_update=no
for p in $missing; do
	if ! apt-cache show "$p" >/dev/null 2>&1; then
		need_update=yes
	fi
done
if [ "$need_update" = yes ] || [ ! -d /var/lib/apt/lists ] ||
	[ -z "$(ls /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
	echo "deps: apt-get update" >&2
	apt-get update -q >&2
fi
echo "deps: installing$missing" >&2
apt-get install -y -q --no-install-recommends $missing >&2
