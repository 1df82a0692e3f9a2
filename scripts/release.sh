#!/usr/bin/env bash
# Builds the release archives of kubectl-gitops and renders its krew manifest.
#
#   scripts/release.sh VERSION [--out DIR] [--base-url URL]
#
# VERSION is the crate version (0.2.0 or v0.2.0) and must match Cargo.toml, so the binary
# reports the version its archive is named after. For the host target and, when its rustup
# target is installed, x86_64-unknown-linux-musl (a static Linux binary), it writes to DIR
# (default: dist/):
#
#   kubectl-gitops-<version>-<target>.tar.gz          binary, kubectl_complete-gitops,
#                                                     LICENSE, README.md, at the root
#   kubectl-gitops-<version>-<target>.tar.gz.sha256   `sha256sum` format
#   gitops.yaml                                       the krew manifest, one platform per
#                                                     archive in DIR with its real sha256
#
# Archives for other platforms built elsewhere (CI runners) can be dropped into DIR first:
# the manifest covers every kubectl-gitops-<version>-<target>.tar.gz it finds there.
# --base-url is where the archives will be downloaded from (default: the template's
# homepage + /releases/download/v<version>).
set -euo pipefail

die() {
  printf 'release.sh: error: %s\n' "$*" >&2
  exit 1
}
say() { printf 'release.sh: %s\n' "$*" >&2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
template=$root/plugin-manifest/gitops.yaml
musl=x86_64-unknown-linux-musl

version=
out=$root/dist
base_url=
while [ $# -gt 0 ]; do
  case $1 in
    --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    --base-url) [ $# -ge 2 ] || die "--base-url needs a URL"; base_url=$2; shift 2 ;;
    --base-url=*) base_url=${1#--base-url=}; shift ;;
    -h | --help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option: $1 (see scripts/release.sh --help)" ;;
    *) [ -z "$version" ] || die "one VERSION only (got $version and $1)"; version=${1#v}; shift ;;
  esac
done
[ -n "$version" ] || die "usage: scripts/release.sh VERSION [--out DIR] [--base-url URL]"
[[ $version =~ ^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]] ||
  die "VERSION must be semver like 1.2.3 or v1.2.3-rc.1, not $version"
crate_version=$(sed -n '/^version *= *"/{s/^version *= *"\(.*\)"/\1/p;q;}' "$root/Cargo.toml")
[ "$version" = "$crate_version" ] ||
  die "VERSION $version does not match Cargo.toml's version $crate_version; set it there first"

for tool in cargo rustc tar gzip; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not on PATH"
done
if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d ' ' -f 1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 "$1" | cut -d ' ' -f 1; }
else
  die "neither sha256sum nor shasum is installed"
fi
for file in LICENSE README.md kubectl_complete-gitops; do
  [ -f "$root/$file" ] || die "$file is missing: every archive ships it"
done

mkdir -p "$out"
out=$(cd "$out" && pwd)
if [ -z "$base_url" ]; then
  homepage=$(sed -n 's/^  homepage: *//p' "$template")
  [ -n "$homepage" ] || die "$template has no spec.homepage to derive --base-url from"
  base_url=$homepage/releases/download/v$version
fi

host=$(rustc -vV | sed -n 's/^host: //p')
targets=("$host")
if [ "$host" != "$musl" ]; then
  if command -v rustup >/dev/null 2>&1 && rustup target list --installed 2>/dev/null | grep -qx "$musl"; then
    targets+=("$musl")
  else
    say "the $musl target is not installed (rustup target add $musl), so no static Linux archive: building for $host only"
  fi
fi

# Archives with fixed owners, order and times are byte-for-byte reproducible, so a rebuild
# from the same commit gives the same sha256.
epoch=$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)
tar_flags=()
if tar --version 2>/dev/null | grep -q 'GNU tar'; then
  tar_flags=(--sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch")
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/kubectl-gitops-release.XXXXXX")
trap 'rm -rf "$stage"' EXIT

for target in "${targets[@]}"; do
  say "building $target (release profile)"
  # The host build has no --target, so it shares target/release with ./install.sh and plain
  # `cargo build --release` instead of compiling everything a second time.
  target_args=()
  [ "$target" = "$host" ] || target_args=(--target "$target")
  cargo build --release --locked --manifest-path "$root/Cargo.toml" --bin kubectl-gitops \
    ${target_args[@]+"${target_args[@]}"} --message-format=json-render-diagnostics >"$stage/build.json" ||
    die "cargo build for $target failed"
  bin=$(sed -n 's|.*"executable":"\([^"]*/kubectl-gitops\(\.exe\)\{0,1\}\)".*|\1|p' "$stage/build.json" | tail -n 1)
  { [ -n "$bin" ] && [ -f "$bin" ]; } || die "cargo did not report the kubectl-gitops binary for $target"

  name=kubectl-gitops-$version-$target
  dir=$stage/$name
  mkdir -p "$dir"
  cp "$bin" "$dir/"
  cp "$root/kubectl_complete-gitops" "$root/LICENSE" "$root/README.md" "$dir/"
  chmod 0755 "$dir/$(basename "$bin")" "$dir/kubectl_complete-gitops"
  chmod 0644 "$dir/LICENSE" "$dir/README.md"
  (cd "$dir" && tar ${tar_flags[@]+"${tar_flags[@]}"} -cf - -- *) | gzip -n -9 >"$out/$name.tar.gz"
  (cd "$out" && printf '%s  %s\n' "$(sha256 "$name.tar.gz")" "$name.tar.gz" >"$name.tar.gz.sha256")
  say "wrote $out/$name.tar.gz"
done

# The krew manifest: the template's header with this version, then one platform per archive
# present, preferring the static musl build for Linux. krew picks the single platform whose
# selector matches, so each os/arch appears at most once.
manifest=$out/gitops.yaml
{
  printf '# krew plugin manifest for kubectl-gitops v%s, written by scripts/release.sh.\n' "$version"
  sed -n '/^apiVersion:/,/^  platforms:/p' "$template" | sed "s/^  version: .*/  version: v$version/"
} >"$stage/gitops.yaml"
platforms=0
for spec in \
  "linux amd64 kubectl-gitops x86_64-unknown-linux-musl x86_64-unknown-linux-gnu" \
  "linux arm64 kubectl-gitops aarch64-unknown-linux-musl aarch64-unknown-linux-gnu" \
  "darwin amd64 kubectl-gitops x86_64-apple-darwin" \
  "darwin arm64 kubectl-gitops aarch64-apple-darwin" \
  "windows amd64 kubectl-gitops.exe x86_64-pc-windows-msvc x86_64-pc-windows-gnu"; do
  read -r os arch bin candidates <<<"$spec"
  chosen=
  for target in $candidates; do
    if [ -f "$out/kubectl-gitops-$version-$target.tar.gz" ]; then
      chosen=$target
      break
    fi
  done
  if [ -z "$chosen" ]; then
    say "no archive for $os/$arch in $out: left out of the krew manifest"
    continue
  fi
  archive=kubectl-gitops-$version-$chosen.tar.gz
  cat >>"$stage/gitops.yaml" <<EOF
    - selector:
        matchLabels:
          os: $os
          arch: $arch
      uri: $base_url/$archive
      sha256: "$(sha256 "$out/$archive")"
      bin: $bin
EOF
  platforms=$((platforms + 1))
done
[ "$platforms" -gt 0 ] || die "no archive to put in the krew manifest"
mv "$stage/gitops.yaml" "$manifest"
say "wrote $manifest ($platforms platform(s))"
