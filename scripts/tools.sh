#!/usr/bin/env bash
# Installs what the tests of deploy/ use, where it is missing and can be had: promtool, from
# Debian's prometheus package. Only promtool is taken out of the package (into /usr/local/bin), so
# no Prometheus server is installed, enabled or started. This script never fails: when promtool
# cannot be installed it says why, and the test that needs it skips with a message.
set -uo pipefail

say() { echo "tools: $*" >&2; }

if command -v promtool >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	say "promtool not found; not root, so not installing it (install Debian's prometheus package, or put promtool on PATH)"
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
	say "promtool not found, and there is no apt-get and dpkg-deb to install it with"
	exit 0
fi

dir=$(mktemp -d /tmp/mirrord-tools.XXXXXX) || { say "no temporary folder"; exit 0; }
trap 'rm -rf "$dir"' EXIT

say "promtool not found; taking it from Debian's prometheus package"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >"$dir/apt.log" 2>&1; then
	say "apt-get update failed; promtool not installed:"
	tail -n 5 "$dir/apt.log" >&2
	exit 0
fi
if ! (cd "$dir" && apt-get download -qq prometheus >>"$dir/apt.log" 2>&1); then
	say "apt-get download prometheus failed; promtool not installed:"
	tail -n 5 "$dir/apt.log" >&2
	exit 0
fi
if ! dpkg-deb -x "$dir"/prometheus_*.deb "$dir/root" 2>>"$dir/apt.log" || [ ! -x "$dir/root/usr/bin/promtool" ]; then
	say "no usr/bin/promtool in the prometheus package; promtool not installed"
	exit 0
fi
if ! install -m 0755 "$dir/root/usr/bin/promtool" /usr/local/bin/promtool; then
	say "could not write /usr/local/bin/promtool"
	exit 0
fi
if ! /usr/local/bin/promtool --version >/dev/null 2>&1; then
	say "the extracted promtool does not run here; removing it"
	rm -f /usr/local/bin/promtool
	exit 0
fi
say "installed $(/usr/local/bin/promtool --version 2>&1 | head -n 1)"
