#!/usr/bin/env bash
# Benchmark of `kubectl gitops validate`: documents/second and peak RSS on 1k, 10k and 50k
# synthetic documents (bench/generate.py), release build, all cores. Prints figures; asserts
# nothing. Usage: bench/validate.sh [SIZES...]   (default: 1000 10000 50000)
#
# When `kubeconform` is on PATH (or KUBECONFORM names it), the same trees are validated by it
# in the same run, at its fastest configuration: strict, self-contained ("standalone-strict")
# schemas, 4 workers. Point KUBECONFORM_SCHEMA_LOCATION at a local copy of those schemas (a
# directory or a kubeconform -schema-location template) to keep it off the network; without
# it kubeconform fetches them (and the first round warms its -cache). KUBECONFORM_FLAGS
# replaces the flags. The last columns are kubeconform's time over ours and its peak memory
# over ours (above 1: we are faster, and smaller).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${KGO_BIN:-}" ] || cargo build --release --quiet
bin=${KGO_BIN:-target/release/kubectl-gitops}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 50000)
rounds=${ROUNDS:-5}

peer=${KUBECONFORM:-$(command -v kubeconform || true)}
peer_flags=()
if [ -n "$peer" ]; then
  if [ -n "${KUBECONFORM_FLAGS:-}" ]; then
    read -r -a peer_flags <<<"$KUBECONFORM_FLAGS"
  else
    peer_flags=(-strict -summary -n 4 -cache "$work/kubeconform-cache")
    mkdir -p "$work/kubeconform-cache"
    if [ -n "${KUBECONFORM_SCHEMA_LOCATION:-}" ]; then
      peer_flags+=(-schema-location "$KUBECONFORM_SCHEMA_LOCATION")
    else
      peer_flags+=(-schema-location \
        'https://raw.githubusercontent.com/yannh/kubernetes-json-schema/master/{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/{{ .ResourceKind }}{{ .KindSuffix }}.json')
    fi
  fi
  echo "peer: $peer ($("$peer" -v 2>/dev/null || echo '?')) ${peer_flags[*]}" >&2
  printf '%-8s %-7s %-9s %-9s %-9s | %-12s %-9s %-9s | %-9s %-9s\n' docs files "best_s" "docs/s" "peak_MiB" \
    "kubeconform_s" "docs/s" "peak_MiB" "speedup" "mem_ratio"
else
  echo "peer: kubeconform not found (set KUBECONFORM or put it on PATH for the side-by-side columns)" >&2
  printf '%-8s %-7s %-9s %-9s %-9s\n' docs files "best_s" "docs/s" "peak_MiB"
fi
for n in "${sizes[@]}"; do
  dir="$work/$n"
  python3 bench/generate.py "$n" "$dir" 2>/dev/null
  files=$(find "$dir" -name '*.yaml' | wc -l)
  "$bin" validate "$dir" >/dev/null # warm the page cache
  read -r best peak < <(python3 bench/measure.py "$rounds" "$bin" validate "$dir")
  row=$(printf '%-8s %-7s %-9.3f %-9.0f %-9.1f' "$n" "$files" "$best" "$(echo "$n / $best" | bc -l)" \
    "$(echo "$peak / 1024" | bc -l)")
  if [ -n "$peer" ]; then
    "$peer" "${peer_flags[@]}" "$dir" >/dev/null 2>&1 || true # warm its cache and the page cache
    read -r pbest ppeak < <(python3 bench/measure.py "$rounds" "$peer" "${peer_flags[@]}" "$dir")
    row+=$(printf ' | %-12.3f %-9.0f %-9.1f | %-9.1f %-9.2f' "$pbest" "$(echo "$n / $pbest" | bc -l)" \
      "$(echo "$ppeak / 1024" | bc -l)" "$(echo "$pbest / $best" | bc -l)" "$(echo "$ppeak / $peak" | bc -l)")
  fi
  echo "$row"
done
