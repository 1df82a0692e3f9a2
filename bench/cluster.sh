#!/usr/bin/env bash
# Cluster benchmark: `kubectl gitops status` and `kubectl gitops diff` on 1,000 objects,
# against `kubectl diff -f` on the same files and the same API server; then a fleet: `status`
# and `diff` of 200 objects on 50 clusters at once. Prints figures; asserts nothing (a
# benchmark, not a test).
#
#   bench/cluster.sh                 # uses $KUBECONFIG, or starts tests/cluster/apiserver.sh
#   OBJECTS=2000 ROUNDS=5 bench/cluster.sh
#   FLEET_CLUSTERS=10 FLEET_OBJECTS=100 bench/cluster.sh   # a smaller fleet (0: none)
#   OBJECTS=0 bench/cluster.sh       # the fleet only
#   BIN=target/debug/kubectl-gitops bench/cluster.sh   # skip the release build
#
# It creates its own namespaces (kgo-bench-<time>, and kgo-bench-<time>-cN for the fleet)
# with the objects and deletes them at the end.
#
# The fleet is simulated on the one API server: a generated kubeconfig with one context per
# cluster (c1..cN), all pointing at the server, each with its own default namespace. The
# objects in Git name no namespace, so each context compares its own copy, as each cluster
# of a real fleet would; every context still gets a client, discovery and connections of its
# own, as real clusters do.
set -euo pipefail

cd "$(dirname "$0")/.."
OBJECTS="${OBJECTS:-1000}"
ROUNDS="${ROUNDS:-3}"
FLEET_CLUSTERS="${FLEET_CLUSTERS:-50}"
FLEET_OBJECTS="${FLEET_OBJECTS:-200}"

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
  for c in $(seq 1 "$FLEET_CLUSTERS"); do
    kubectl delete namespace "$NS-c$c" --wait=false >/dev/null 2>&1 || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

# 40% ConfigMaps, 30% Deployments, 30% Services; ten objects per file. Services are headless
# so that they take no address from a small service IP range.
# NAMESPACE_LINE is the objects' namespace line (empty for the fleet, whose objects take
# each context's namespace); DIR the directory written to.
emit() {  # kind index
  local file="$DIR/part-$((i / 10)).yaml"
  i=$((i + 1))
  case "$1" in
    cm) cat >>"$file" <<EOF
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings-$2
$NAMESPACE_LINE
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
$NAMESPACE_LINE
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
$NAMESPACE_LINE
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
# write_repo DIR COUNT NAMESPACE_LINE: COUNT objects in a new git repository DIR.
write_repo() {
  DIR="$1/apps"
  NAMESPACE_LINE="$3"
  deployments=$(($2 * 3 / 10))
  services=$(($2 * 3 / 10))
  configmaps=$(($2 - deployments - services))
  i=0
  mkdir -p "$DIR"
  for n in $(seq 1 "$configmaps"); do emit cm "$n"; done
  for n in $(seq 1 "$deployments"); do emit deploy "$n"; done
  for n in $(seq 1 "$services"); do emit svc "$n"; done
  (
    cd "$1"
    git init -q -b main
    git add -A
    git -c user.name=bench -c user.email=bench@example.com commit -q -m objects
  )
}

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

server="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')"
version="$(kubectl version -o json 2>/dev/null | sed -n 's/.*"gitVersion": "\(v[^"]*\)".*/\1/p' | tail -n1)"

if [ "$OBJECTS" -gt 0 ]; then
  echo "writing $OBJECTS objects..." >&2
  write_repo "$WORK/repo" "$OBJECTS" "  namespace: $NS"
  echo "applying them to namespace $NS..." >&2
  kubectl create namespace "$NS" >/dev/null
  kubectl apply --server-side -f "$WORK/repo/apps" >/dev/null
  # A little drift, so both diffs have something to print.
  for n in 1 2 3; do
    kubectl -n "$NS" scale "deployment/web-$n" --replicas=3 >/dev/null
  done

  cd "$WORK/repo"
  status_s=$(best "$BIN" status)
  diff_s=$(best "$BIN" diff)
  diff_all_s=$(best "$BIN" diff --dry-run-all)
  kubectl_s=$(best kubectl diff -f "$WORK/repo/apps")
  kubectl_ss_s=$(best kubectl diff --server-side --force-conflicts -f "$WORK/repo/apps")
  cd - >/dev/null

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
fi

if [ "$FLEET_CLUSTERS" -gt 0 ]; then
  echo "writing $FLEET_OBJECTS objects for a fleet of $FLEET_CLUSTERS clusters..." >&2
  write_repo "$WORK/fleet" "$FLEET_OBJECTS" ""
  # One context per cluster: the current context's cluster and user, its own namespace.
  FLEET_CONFIG="$WORK/fleet-kubeconfig.json"
  kubectl config view --raw --minify --flatten -o json | python3 -c '
import json, sys
config = json.load(sys.stdin)
base = config["contexts"][0]["context"]
ns, count = sys.argv[1], int(sys.argv[2])
config["contexts"] = [
    {"name": f"c{c}", "context": {"cluster": base["cluster"], "user": base["user"],
                                  "namespace": f"{ns}-c{c}"}}
    for c in range(1, count + 1)
]
config["current-context"] = "c1"
json.dump(config, sys.stdout)
' "$NS" "$FLEET_CLUSTERS" >"$FLEET_CONFIG"
  echo "applying them to $FLEET_CLUSTERS namespaces..." >&2
  contexts=()
  pids=()
  for c in $(seq 1 "$FLEET_CLUSTERS"); do
    kubectl create namespace "$NS-c$c" >/dev/null
    kubectl apply --server-side -n "$NS-c$c" -f "$WORK/fleet/apps" >/dev/null &
    pids+=($!)
    # Two applies at a time: the API server shares the machine's cores.
    if [ "${#pids[@]}" -eq 2 ]; then
      for pid in "${pids[@]}"; do wait "$pid"; done
      pids=()
    fi
    contexts+=(--context "c$c")
  done
  for pid in "${pids[@]}"; do wait "$pid"; done
  # Drift in one cluster of the fleet.
  kubectl -n "$NS-c1" scale deployment/web-1 --replicas=3 >/dev/null

  cd "$WORK/fleet"
  export KUBECONFIG="$FLEET_CONFIG"
  fleet_status_s=$(best "$BIN" status "${contexts[@]}")
  fleet_all_s=$(best "$BIN" status --all-contexts)
  fleet_diff_s=$(best "$BIN" diff "${contexts[@]}")
  one_status_s=$(best "$BIN" status --context c1)
  one_diff_s=$(best "$BIN" diff --context c1)
  cd - >/dev/null

  total=$((FLEET_CLUSTERS * FLEET_OBJECTS))
  echo
  echo "fleet benchmark: $FLEET_CLUSTERS clusters x $FLEET_OBJECTS objects ($total live objects), one context per cluster"
  echo "server $server ($version), best of $ROUNDS runs, $(nproc) cores"
  printf '  %-58s %8s s\n' "kubectl gitops status --context c1 ... --context c$FLEET_CLUSTERS" "$fleet_status_s"
  printf '  %-58s %8s s\n' "kubectl gitops status --all-contexts" "$fleet_all_s"
  printf '  %-58s %8s s\n' "kubectl gitops diff --context c1 ... --context c$FLEET_CLUSTERS" "$fleet_diff_s"
  printf '  %-58s %8s s\n' "kubectl gitops status --context c1 (one cluster)" "$one_status_s"
  printf '  %-58s %8s s\n' "kubectl gitops diff --context c1 (one cluster)" "$one_diff_s"
  awk -v f="$fleet_status_s" -v o="$one_status_s" -v n="$FLEET_CLUSTERS" -v t="$total" 'BEGIN {
    printf "  status: %.0f objects/s over the fleet; %d clusters take %.1fx the time of one\n", t / f, n, f / o
  }'
fi
