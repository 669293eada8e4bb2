#!/usr/bin/env bash
# Builds the release binaries of mirrord and mirrortask: static (CGO_ENABLED=0), stamped with the
# version and commit the way `make build` stamps them, named <command>_<version>_<os>_<arch>[.exe],
# with a SHA256SUMS file of them. `make dist` runs it. Settings, from the environment:
#   VERSION    default: git describe --tags --always --dirty (as the Makefile)
#   COMMIT     default: git rev-parse HEAD (as the Makefile)
#   DIST_DIR   default: dist
#   PLATFORMS  default: linux/amd64 linux/arm64 windows/amd64
#   GO         default: go
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
COMMIT=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
DIST_DIR=${DIST_DIR:-dist}
PLATFORMS=${PLATFORMS:-linux/amd64 linux/arm64 windows/amd64}
commands=(mirrord mirrortask)

case $VERSION in
'' | */* | *[[:space:]]*) echo "dist: version \"$VERSION\" cannot be part of a file name" >&2; exit 1 ;;
esac

if command -v sha256sum >/dev/null 2>&1; then
	sha256=(sha256sum)
elif command -v shasum >/dev/null 2>&1; then
	sha256=(shasum -a 256)
else
	echo "dist: neither sha256sum nor shasum found" >&2
	exit 1
fi

mkdir -p "$DIST_DIR"
# Binaries of an earlier run, of this version or another, would sit beside SHA256SUMS unlisted.
for c in "${commands[@]}"; do
	rm -f "$DIST_DIR/${c}_"*
done
rm -f "$DIST_DIR/SHA256SUMS"

files=()
for platform in $PLATFORMS; do
	os=${platform%/*}
	arch=${platform#*/}
	ext=
	[ "$os" = windows ] && ext=.exe
	for c in "${commands[@]}"; do
		name="${c}_${VERSION}_${os}_${arch}${ext}"
		echo "dist: $name" >&2
		CGO_ENABLED=0 GOOS=$os GOARCH=$arch "$GO" build -trimpath \
			-ldflags "-X main.version=$VERSION -X main.commit=$COMMIT" \
			-o "$DIST_DIR/$name" "./cmd/$c"
		files+=("$name")
	done
done

(cd "$DIST_DIR" && "${sha256[@]}" "${files[@]}" >SHA256SUMS)
echo "dist: ${#files[@]} binaries and SHA256SUMS in $DIST_DIR" >&2
