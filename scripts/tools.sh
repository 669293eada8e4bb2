#!/usr/bin/env bash
# Installs what some tests use, where it is missing and can be had from Debian's packages:
#   promtool (deploy/'s alert rules), taken out of the prometheus package into /usr/local/bin, so
#     that no Prometheus server is installed, enabled or started;
#   chromium (the status page's browser test), installed headless-capable without recommends;
#   sqlite3, the command-line shell (bench's raw SQLite load and its CSV round-trip test).
# This script never fails: when a tool cannot be installed it says why, and the test that needs
# it skips with a message.
set -uo pipefail

say() { echo "tools: $*" >&2; }

need_promtool=1
need_chromium=1
need_sqlite3=1
command -v promtool >/dev/null 2>&1 && need_promtool=0
command -v sqlite3 >/dev/null 2>&1 && need_sqlite3=0
for c in chromium chromium-browser google-chrome; do
	command -v "$c" >/dev/null 2>&1 && need_chromium=0
done
if [ $need_promtool = 0 ] && [ $need_chromium = 0 ] && [ $need_sqlite3 = 0 ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	[ $need_promtool = 1 ] && say "promtool not found; not root, so not installing it (install Debian's prometheus package, or put promtool on PATH)"
	[ $need_chromium = 1 ] && say "chromium not found; not root, so not installing it (install Debian's chromium package)"
	[ $need_sqlite3 = 1 ] && say "sqlite3 not found; not root, so not installing it (install Debian's sqlite3 package)"
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
	say "promtool, chromium or sqlite3 not found, and there is no apt-get and dpkg-deb to install them with"
	exit 0
fi

dir=$(mktemp -d /tmp/mirrord-tools.XXXXXX) || { say "no temporary folder"; exit 0; }
trap 'rm -rf "$dir"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >"$dir/apt.log" 2>&1; then
	say "apt-get update failed; nothing installed:"
	tail -n 5 "$dir/apt.log" >&2
	exit 0
fi

install_promtool() {
	say "promtool not found; taking it from Debian's prometheus package"
	if ! (cd "$dir" && apt-get download -qq prometheus >>"$dir/apt.log" 2>&1); then
		say "apt-get download prometheus failed; promtool not installed:"
		tail -n 5 "$dir/apt.log" >&2
		return
	fi
	if ! dpkg-deb -x "$dir"/prometheus_*.deb "$dir/root" 2>>"$dir/apt.log" || [ ! -x "$dir/root/usr/bin/promtool" ]; then
		say "no usr/bin/promtool in the prometheus package; promtool not installed"
		return
	fi
	if ! install -m 0755 "$dir/root/usr/bin/promtool" /usr/local/bin/promtool; then
		say "could not write /usr/local/bin/promtool"
		return
	fi
	if ! /usr/local/bin/promtool --version >/dev/null 2>&1; then
		say "the extracted promtool does not run here; removing it"
		rm -f /usr/local/bin/promtool
		return
	fi
	say "installed $(/usr/local/bin/promtool --version 2>&1 | head -n 1)"
}

install_chromium() {
	say "chromium not found; installing Debian's chromium package"
	if ! apt-get install -y -qq --no-install-recommends chromium >>"$dir/apt.log" 2>&1; then
		say "apt-get install chromium failed; the browser test will skip:"
		tail -n 5 "$dir/apt.log" >&2
		return
	fi
	say "installed $(chromium --version 2>/dev/null | head -n 1)"
}

install_sqlite3() {
	say "sqlite3 not found; installing Debian's sqlite3 package"
	if ! apt-get install -y -qq --no-install-recommends sqlite3 >>"$dir/apt.log" 2>&1; then
		say "apt-get install sqlite3 failed; the tests and benchmarks that need it will skip:"
		tail -n 5 "$dir/apt.log" >&2
		return
	fi
	say "installed sqlite3 $(sqlite3 --version 2>/dev/null | cut -d' ' -f1)"
}

[ $need_promtool = 1 ] && install_promtool
[ $need_chromium = 1 ] && install_chromium
[ $need_sqlite3 = 1 ] && install_sqlite3
exit 0
