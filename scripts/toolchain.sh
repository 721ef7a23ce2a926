#!/usr/bin/env bash
# toolchain.sh: make the TamaGo toolchain present where the tamago command
# (`go tool -n github.com/usbarmory/tamago/cmd/tamago`) looks for it:
# os.UserCacheDir()/tamago-go/tamago-go<VERSION>, that is
# ${XDG_CACHE_HOME:-$HOME/.cache}/tamago-go/tamago-go<VERSION> on Linux.
# Run by `make toolchain`, which passes the settings below.
#
#   VERSION      tamago-go version, e.g. 1.26.0 (the tamago module's)
#   ROOT         where the toolchain must end up (the GOROOT)
#   TAMAGO_SRC   optional: a source tarball of tamago-go (git archive with
#                the prefix tamago-go<VERSION>/), for machines offline
#   SHA256       the pinned SHA-256 of that tarball ("" if none is pinned)
#   GO           the host go command (bootstrap for make.bash)
#
# Present (ROOT/bin/go runs): nothing to do. Else with TAMAGO_SRC: check its
# SHA-256, unpack and build it with src/make.bash in a temporary directory
# beside ROOT, then rename it into place, so that an interrupted build never
# looks present. Else let the tamago command fetch and build it as it does
# for users online (git clone from GitHub), also into a temporary cache dir
# renamed into place, and say clearly what to do when that fails.
set -euo pipefail

: "${VERSION:?}" "${ROOT:?}"
GO=${GO:-go}
TAMAGO_SRC=${TAMAGO_SRC:-}
SHA256=${SHA256:-}
tag=tamago-go$VERSION

say() { echo "toolchain: $*" >&2; }
die() { say "$*"; exit 1; }

present() { [ -x "$ROOT/bin/go" ] && "$ROOT/bin/go" version >/dev/null 2>&1; }

if present; then
	exit 0
fi

parent=$(dirname "$ROOT")
mkdir -p "$parent"
# A leftover without a working bin/go (an install interrupted before this
# script made installs atomic, or by hand) is in the way of both ways below.
if [ -e "$ROOT" ]; then
	say "$ROOT exists but has no working bin/go: moving it aside"
	mv "$ROOT" "$ROOT.broken.$$"
	rm -rf "$ROOT.broken.$$"
fi
work=$(mktemp -d "$parent/.$tag.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
bootstrap=${GOROOT_BOOTSTRAP:-$("$GO" env GOROOT)}

# install_built moves a built toolchain tree into place.
install_built() {
	local built=$1
	[ -x "$built/bin/go" ] || die "the build left no $built/bin/go"
	# Another make toolchain may have finished first: keep its tree.
	if mv -T "$built" "$ROOT" 2>/dev/null; then
		:
	elif present; then
		say "another build installed $ROOT first; using it"
	else
		die "cannot move $built to $ROOT"
	fi
	present || die "$ROOT/bin/go does not run after the install"
	say "$("$ROOT/bin/go" version) installed in $ROOT"
}

if [ -n "$TAMAGO_SRC" ]; then
	[ -f "$TAMAGO_SRC" ] || die "TAMAGO_SRC=$TAMAGO_SRC: no such file"
	TAMAGO_SRC=$(realpath "$TAMAGO_SRC")
	[ -n "$SHA256" ] || die "no SHA-256 is pinned for $tag in mk/baremetal.mk (TAMAGO_SRC_SHA256); refusing to build an unchecked tarball"
	got=$(sha256sum "$TAMAGO_SRC" | cut -d' ' -f1)
	[ "$got" = "$SHA256" ] || die "TAMAGO_SRC=$TAMAGO_SRC has SHA-256 $got, want $SHA256 (pinned for $tag)"
	say "building $tag from $TAMAGO_SRC (make.bash, a few minutes)"
	tar -xf "$TAMAGO_SRC" -C "$work"
	[ -x "$work/$tag/src/make.bash" ] || die "$TAMAGO_SRC does not hold $tag/src/make.bash"
	(cd "$work/$tag/src" && GOROOT_BOOTSTRAP=$bootstrap PATH="$work/$tag/bin:$PATH" ./make.bash) >&2 ||
		die "make.bash failed for $tag (from $TAMAGO_SRC)"
	install_built "$work/$tag"
	exit 0
fi

# Online: the tamago command clones tag $tag from GitHub and builds it in
# its cache dir. Pointing XDG_CACHE_HOME at the work dir makes it build
# there; the go build cache stays where it was.
tamago=$("$GO" tool -n github.com/usbarmory/tamago/cmd/tamago) ||
	die "go tool -n github.com/usbarmory/tamago/cmd/tamago failed: is the tool line in go.mod?"
command -v git >/dev/null || die "$tag is not installed and git is missing, so the tamago command cannot fetch it. Offline, build it from source: make toolchain TAMAGO_SRC=/path/to/$tag.src.tar.xz"
say "fetching and building $tag with the tamago command (git clone from GitHub, then make.bash)"
if ! GOCACHE=$("$GO" env GOCACHE) XDG_CACHE_HOME=$work GOROOT_BOOTSTRAP=$bootstrap "$tamago" version >&2; then
	die "the tamago command could not fetch $tag from https://github.com/usbarmory/tamago-go (no network?).
Offline, build it from its source tarball instead (git archive --prefix=$tag/ of tag $tag, see README):
    make toolchain TAMAGO_SRC=/path/to/$tag.src.tar.xz"
fi
install_built "$work/tamago-go/$tag"
