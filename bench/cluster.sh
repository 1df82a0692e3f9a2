#!/usr/bin/env bash
# Cluster benchmark: `kubectl gitops status` and `kubectl gitops diff` on 1,000 objects,
# against `kubectl diff -f` on the same files and the same API server. Prints figures; asserts
# nothing (a benchmark, not a test).
#
#   bench/cluster.sh                 # uses $KUBECONFIG, or starts tests/cluster/apiserver.sh
#   OBJECTS=2000 ROUNDS=5 bench/cluster.sh
#   BIN=target/debug/kubectl-gitops bench/cluster.sh   # skip the release build
#
# It creates its own namespace (kgo-bench-<time>) with the objects and deletes it at the end.
set -euo pipefail

cd "$(dirname "$0")/.."
OBJECTS="${OBJECTS:-1000}"
ROUNDS="${ROUNDS:-3}"

if [ -z "${KUBECONFIG:-}" ]; then
  eval "$(tests/cluster/apiserver.sh up)"
fi
export KUBECONFIG

if [ -z "${BIN:-}" ]; then
  echo "building the release binary..." >&2
  cargo build --release --quiet
  BIN="$PWD/target/release/kubectl-gitops"
fi
BIN="$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")"

NS="kgo-bench-$(date +%s)"
WORK="$(mktemp -d)"
cleanup() {
  kubectl delete namespace "$NS" --wait=false >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# 40% ConfigMaps, 30% Deployments, 30% Services; ten objects per file. Services are headless
# so that they take no address from a small service IP range.
echo "writing $OBJECTS objects..." >&2
mkdir -p "$WORK/repo/apps"
deployments=$((OBJECTS * 3 / 10))
services=$((OBJECTS * 3 / 10))
configmaps=$((OBJECTS - deployments - services))
i=0
emit() {  # kind index
  local file="$WORK/repo/apps/part-$((i / 10)).yaml"
  i=$((i + 1))
  case "$1" in
    cm) cat >>"$file" <<EOF
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings-$2
  namespace: $NS
  labels: {app.kubernetes.io/instance: bench}
data:
  level: info
  index: "$2"
EOF
    ;;
    deploy) cat >>"$file" <<EOF
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web-$2
  namespace: $NS
  labels: {app.kubernetes.io/instance: bench}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web-$2}
  template:
    metadata:
      labels: {app: web-$2}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 8080
        resources:
          limits: {cpu: 500m, memory: 128Mi}
EOF
    ;;
    svc) cat >>"$file" <<EOF
---
apiVersion: v1
kind: Service
metadata:
  name: web-$2
  namespace: $NS
  labels: {app.kubernetes.io/instance: bench}
spec:
  clusterIP: None
  selector: {app: web-$2}
  ports:
  - port: 80
    targetPort: 8080
    protocol: TCP
EOF
    ;;
  esac
}
for n in $(seq 1 "$configmaps"); do emit cm "$n"; done
for n in $(seq 1 "$deployments"); do emit deploy "$n"; done
for n in $(seq 1 "$services"); do emit svc "$n"; done
(
  cd "$WORK/repo"
  git init -q -b main
  git add -A
  git -c user.name=bench -c user.email=bench@example.com commit -q -m objects
)

echo "applying them to namespace $NS..." >&2
kubectl create namespace "$NS" >/dev/null
kubectl apply --server-side -f "$WORK/repo/apps" >/dev/null
# A little drift, so both diffs have something to print.
for n in 1 2 3; do
  kubectl -n "$NS" scale "deployment/web-$n" --replicas=3 >/dev/null
done

now() { date +%s%N; }
# best of $ROUNDS runs, in seconds; the command's exit status 0 or 1 is fine
best() {
  local best_ns="" start end elapsed
  for _ in $(seq 1 "$ROUNDS"); do
    start=$(now)
    set +e
    "$@" >/dev/null 2>&1
    local rc=$?
    set -e
    end=$(now)
    if [ "$rc" -gt 1 ]; then
      echo "command failed (exit $rc): $*" >&2
      "$@" >/dev/null || true
      exit 1
    fi
    elapsed=$((end - start))
    if [ -z "$best_ns" ] || [ "$elapsed" -lt "$best_ns" ]; then best_ns=$elapsed; fi
  done
  awk -v ns="$best_ns" 'BEGIN { printf "%.3f", ns / 1e9 }'
}

cd "$WORK/repo"
server="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
version="$(kubectl version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -n1)"
status_s=$(best "$BIN" status)
diff_s=$(best "$BIN" diff)
diff_all_s=$(best "$BIN" diff --dry-run-all)
kubectl_s=$(best kubectl diff -f "$WORK/repo/apps")
kubectl_ss_s=$(best kubectl diff --server-side --force-conflicts -f "$WORK/repo/apps")

echo
echo "cluster benchmark: $OBJECTS objects ($configmaps ConfigMaps, $deployments Deployments, $services Services)"
echo "server $server ($version), best of $ROUNDS runs, $(nproc) cores"
printf '  %-58s %8s s\n' "kubectl gitops status" "$status_s"
printf '  %-58s %8s s\n' "kubectl gitops diff (dry-run only where live differs)" "$diff_s"
printf '  %-58s %8s s\n' "kubectl gitops diff --dry-run-all (every object)" "$diff_all_s"
printf '  %-58s %8s s\n' "kubectl diff -f apps/" "$kubectl_s"
printf '  %-58s %8s s\n' "kubectl diff --server-side --force-conflicts -f apps/" "$kubectl_ss_s"
awk -v a="$kubectl_s" -v b="$kubectl_ss_s" -v d="$diff_s" -v e="$diff_all_s" 'BEGIN {
  printf "  kubectl gitops diff: %.1fx faster than kubectl diff -f, %.1fx faster than kubectl diff --server-side\n", a / d, b / d
  printf "  with --dry-run-all:  %.1fx faster than kubectl diff -f, %.1fx faster than kubectl diff --server-side\n", a / e, b / e
}'
