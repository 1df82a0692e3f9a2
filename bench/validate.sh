#!/usr/bin/env bash
# Benchmark of `kubectl gitops validate`: documents/second and peak RSS on 1k, 10k and 50k
# synthetic documents (bench/generate.py), release build, all cores. Prints figures; asserts
# nothing. Usage: bench/validate.sh [SIZES...]   (default: 1000 10000 50000)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${KGO_BIN:-}" ] || cargo build --release --quiet
bin=${KGO_BIN:-target/release/kubectl-gitops}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 50000)
rounds=${ROUNDS:-5}
printf '%-8s %-7s %-12s %-12s %-10s\n' docs files "best_s" "docs/s" "peak_MiB"
for n in "${sizes[@]}"; do
  dir="$work/$n"
  python3 bench/generate.py "$n" "$dir" 2>/dev/null
  files=$(find "$dir" -name '*.yaml' | wc -l)
  "$bin" validate "$dir" >/dev/null # warm the page cache
  read -r best peak < <(python3 bench/measure.py "$rounds" "$bin" validate "$dir")
  printf '%-8s %-7s %-12.3f %-12.0f %-10.1f\n' "$n" "$files" "$best" "$(echo "$n / $best" | bc -l)" "$(echo "$peak / 1024" | bc -l)"
done
