#!/bin/sh
# Installs kubectl-gitops, the kubectl plugin behind `kubectl gitops ...`, and
# kubectl_complete-gitops, which kubectl (1.26+) runs to complete `kubectl gitops <TAB>`.
# Both go side by side into a directory on PATH, where kubectl finds them.
#
#   ./install.sh                         build from this source checkout with cargo
#   ./install.sh --archive FILE.tar.gz   install from a release archive (checked against
#                                        FILE.tar.gz.sha256 when that file is beside it)
#   ./install.sh --uninstall             remove both files
#   --prefix DIR                         where to install (default: ~/.local/bin)
#
# Running it again is safe: files already up to date are left as they are.
set -eu

PLUGIN=kubectl-gitops
COMPLETION=kubectl_complete-gitops

say() { printf 'install.sh: %s\n' "$*"; }
warn() { printf 'install.sh: warning: %s\n' "$*" >&2; }
die() {
  printf 'install.sh: error: %s\n' "$*" >&2
  exit 1
}

usage() {
  cat <<'EOF'
Usage: ./install.sh [--prefix DIR] [--archive FILE | --uninstall]

Installs kubectl-gitops (run as `kubectl gitops ...`) and kubectl_complete-gitops (its shell
completion for kubectl 1.26+) side by side into DIR.

  (no mode)       build from this source checkout with `cargo build --release` (needs cargo
                  and git)
  --archive FILE  install from a release archive kubectl-gitops-<version>-<target>.tar.gz;
                  when FILE.sha256 is beside it, the archive must match that checksum
  --uninstall     remove kubectl-gitops and kubectl_complete-gitops from DIR
  --prefix DIR    install directory, which should be on PATH (default: ~/.local/bin)
  -h, --help      show this help

Running it again is safe: files already up to date are left as they are.
EOF
}

prefix=${HOME:?HOME is not set; pass --prefix DIR}/.local/bin
mode=source
archive=
while [ $# -gt 0 ]; do
  case $1 in
    --prefix)
      { [ $# -ge 2 ] && [ -n "$2" ]; } || die "--prefix needs a directory, e.g. --prefix /usr/local/bin"
      prefix=$2
      shift 2
      ;;
    --prefix=*)
      prefix=${1#--prefix=}
      [ -n "$prefix" ] || die "--prefix needs a directory, e.g. --prefix /usr/local/bin"
      shift
      ;;
    --archive)
      { [ $# -ge 2 ] && [ -n "$2" ]; } || die "--archive needs a file: --archive kubectl-gitops-<version>-<target>.tar.gz"
      [ "$mode" = uninstall ] && die "--archive and --uninstall cannot be combined"
      mode=archive
      archive=$2
      shift 2
      ;;
    --archive=*)
      archive=${1#--archive=}
      [ -n "$archive" ] || die "--archive needs a file: --archive kubectl-gitops-<version>-<target>.tar.gz"
      [ "$mode" = uninstall ] && die "--archive and --uninstall cannot be combined"
      mode=archive
      shift
      ;;
    --uninstall)
      [ "$mode" = archive ] && die "--archive and --uninstall cannot be combined"
      mode=uninstall
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      die "unknown argument: $1 (see ./install.sh --help)"
      ;;
  esac
done

# An absolute prefix, so the PATH check and the messages name the real directory.
case $prefix in
  /*) ;;
  *) prefix=$(pwd)/$prefix ;;
esac

uninstall() {
  removed=0
  for name in "$PLUGIN" "$COMPLETION"; do
    if [ -e "$prefix/$name" ] || [ -L "$prefix/$name" ]; then
      rm -f "$prefix/$name" || die "cannot remove $prefix/$name"
      say "removed $prefix/$name"
      removed=1
    fi
  done
  if [ "$removed" = 0 ]; then
    say "nothing to remove: no $PLUGIN or $COMPLETION in $prefix"
  fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  else
    die "neither sha256sum nor shasum is installed, so $1 cannot be checked against its .sha256"
  fi
}

tmp=
cleanup() {
  if [ -n "$tmp" ]; then rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_tmp() {
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/kubectl-gitops-install.XXXXXX") ||
    die "cannot create a temporary directory"
}

# Sets $binary and $completion from a build of this checkout.
from_source() {
  src=$(cd "$(dirname "$0")" && pwd)
  { [ -f "$src/Cargo.toml" ] && [ -f "$src/$COMPLETION" ]; } ||
    die "$src is not a kubectl-gitops source checkout; to install a release, use --archive FILE"
  command -v git >/dev/null 2>&1 ||
    die "git is not on PATH: kubectl-gitops needs it (hooks, history, bump, rollback) and the build records its commit; install git (e.g. sudo apt-get install git) and run ./install.sh again"
  command -v cargo >/dev/null 2>&1 ||
    die "cargo is not on PATH: install Rust from https://rustup.rs (then open a new shell, or run . \"\$HOME/.cargo/env\") and run ./install.sh again, or install a release with --archive FILE"
  make_tmp
  say "building $PLUGIN from $src with cargo (release profile; the first build takes a few minutes)"
  # cargo reports where it put the binary, which honours CARGO_TARGET_DIR and
  # build.target-dir without this script guessing.
  cargo build --release --locked --manifest-path "$src/Cargo.toml" --bin "$PLUGIN" \
    --message-format=json-render-diagnostics >"$tmp/build.json" ||
    die "cargo build failed (its errors are above); fix them and run ./install.sh again"
  binary=$(sed -n "s|.*\"executable\":\"\\([^\"]*/$PLUGIN\\)\".*|\\1|p" "$tmp/build.json" | tail -n 1)
  { [ -n "$binary" ] && [ -x "$binary" ]; } ||
    die "cargo build succeeded but did not report where $PLUGIN is"
  completion=$src/$COMPLETION
}

# Sets $binary and $completion from a release archive, checking its checksum first.
from_archive() {
  [ -f "$archive" ] || die "no such archive: $archive"
  if [ -f "$archive.sha256" ]; then
    expected=$(cut -d ' ' -f 1 <"$archive.sha256" | tr 'A-F' 'a-f')
    actual=$(sha256_of "$archive")
    [ "$expected" = "$actual" ] ||
      die "checksum mismatch: $archive has sha256 $actual but $archive.sha256 says $expected; download it again (nothing was installed)"
    say "checksum OK: $archive matches $archive.sha256"
  else
    warn "no $archive.sha256 beside the archive, so its checksum was not verified"
  fi
  make_tmp
  tar -xzf "$archive" -C "$tmp" 2>"$tmp/tar.err" ||
    die "cannot unpack $archive: $(head -n 1 "$tmp/tar.err")"
  binary=$tmp/$PLUGIN
  [ -f "$binary" ] ||
    die "$archive has no $PLUGIN at its root: is it a kubectl-gitops release archive?"
  "$binary" version >/dev/null 2>&1 ||
    die "the $PLUGIN in $archive does not run on this machine ($(uname -sm)): pick the archive built for it"
  completion=$tmp/$COMPLETION
  if [ ! -f "$completion" ]; then
    warn "$archive has no $COMPLETION; installing without kubectl completion"
    completion=
  fi
}

# Copies $1 to $prefix/$2 unless it is already there. The copy is renamed into place, so a
# running kubectl-gitops (a git hook, say) keeps its old file instead of crashing.
place() {
  target=$prefix/$2
  if [ -f "$target" ] && cmp -s "$1" "$target"; then
    say "unchanged: $target (already up to date)"
    return
  fi
  existed=$([ -e "$target" ] && echo 1 || echo 0)
  { cp "$1" "$target.tmp.$$" && chmod 0755 "$target.tmp.$$" && mv -f "$target.tmp.$$" "$target"; } || {
    rm -f "$target.tmp.$$"
    die "cannot write $target (is $prefix writable? try another --prefix)"
  }
  if [ "$existed" = 1 ]; then say "updated: $target"; else say "installed: $target"; fi
}

if [ "$mode" = uninstall ]; then
  uninstall
  exit 0
fi

if [ "$mode" = archive ]; then from_archive; else from_source; fi

mkdir -p "$prefix" 2>/dev/null || die "cannot create $prefix (try another --prefix)"
place "$binary" "$PLUGIN"
if [ -n "$completion" ]; then place "$completion" "$COMPLETION"; fi

say "$("$prefix/$PLUGIN" version | head -n 1) is ready"
case ":$PATH:" in
  *":$prefix:"* | *":$prefix/:"*)
    found=$(command -v "$PLUGIN" || true)
    if [ -n "$found" ] && [ "$found" != "$prefix/$PLUGIN" ]; then
      warn "$found comes first on PATH, so kubectl runs that one; remove it or put $prefix earlier on PATH"
    fi
    ;;
  *)
    warn "$prefix is not on PATH, so kubectl cannot find the plugin; add it, e.g. in ~/.profile: export PATH=\"$prefix:\$PATH\""
    ;;
esac
if command -v kubectl >/dev/null 2>&1; then
  say "try: kubectl gitops version && kubectl gitops doctor"
else
  warn "kubectl is not on PATH: install it to run \`kubectl gitops\` (https://kubernetes.io/docs/tasks/tools/); meanwhile the binary runs on its own as $PLUGIN"
fi
