#!/usr/bin/env bash
# Benchmark of `kubectl gitops history` on a long history: a repository of COMMITS commits
# (default 10,000) with one image bump every 10th commit (1,000 bumps: half made by
# `bump --commit` with Image-Bump trailers, half by hand without), a third of the other
# commits editing YAML without touching an image, the rest editing non-YAML files. Prints the
# best wall-clock time of `history` next to `git log --oneline` on the same repository;
# asserts nothing.
# Usage: bench/history.sh [COMMITS]   (KGO_BIN=path skips the release build; ROUNDS=5)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${KGO_BIN:-}" ] || cargo build --release --quiet
bin=${KGO_BIN:-target/release/kubectl-gitops}
commits=${1:-10000}
rounds=${ROUNDS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
repo="$work/repo"
git init -q -b main "$repo"

# git fast-import builds the whole history in one process, in about a second.
python3 - "$commits" <<'PY' | git -C "$repo" fast-import --quiet
import sys

commits = int(sys.argv[1])
services = 50
out = sys.stdout.buffer


def data(text):
    raw = text.encode()
    out.write(b"data %d\n" % len(raw) + raw + b"\n")


def deployment(i, tag, replicas):
    return f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc-{i:02}
  namespace: apps
  labels: {{app: svc-{i:02}}}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: svc-{i:02}}}
  template:
    metadata:
      labels: {{app: svc-{i:02}}}
    spec:
      containers:
        - name: svc-{i:02}
          image: ghcr.io/acme/svc-{i:02}:1.0.{tag} # {{"$imagepolicy": "flux-system:svc-{i:02}"}}
          ports: [{{containerPort: 8080}}]
          resources:
            limits: {{cpu: 500m, memory: 256Mi}}
"""


def config(i, rev):
    return f"""apiVersion: v1
kind: ConfigMap
metadata:
  name: svc-{i:02}-config
  namespace: apps
data:
  revision: "{rev}"
  log_level: info
"""


tags = [0] * services
replicas = [2] * services
revs = [0] * services
t0 = 1_700_000_000
for n in range(commits):
    out.write(b"commit refs/heads/main\n")
    out.write(b"mark :%d\n" % (n + 1))
    who = b"Dev %d <dev%d@example.com>" % (n % 7, n % 7)
    out.write(b"author " + who + b" %d +0000\n" % (t0 + n * 60))
    out.write(b"committer " + who + b" %d +0000\n" % (t0 + n * 60))
    s = n % services
    files = []
    if n == 0:
        message = "init"
        for i in range(services):
            files.append((f"apps/svc-{i:02}/deployment.yaml", deployment(i, 0, 2)))
            files.append((f"apps/svc-{i:02}/config.yaml", config(i, 0)))
    elif n % 10 == 9:
        old = tags[s]
        tags[s] += 1
        image = f"ghcr.io/acme/svc-{s:02}"
        message = f"Bump {image} to 1.0.{tags[s]}"
        if n % 20 == 9:
            message += f"\n\nImage-Bump: {image} 1.0.{old} -> 1.0.{tags[s]}"
        files.append((f"apps/svc-{s:02}/deployment.yaml", deployment(s, tags[s], replicas[s])))
    elif n % 3 == 0:
        if n % 2:
            replicas[s] = 2 + n % 3
            files.append((f"apps/svc-{s:02}/deployment.yaml", deployment(s, tags[s], replicas[s])))
            message = f"Scale svc-{s:02}"
        else:
            revs[s] += 1
            files.append((f"apps/svc-{s:02}/config.yaml", config(s, revs[s])))
            message = f"Configure svc-{s:02}"
    else:
        files.append((f"src/svc-{s:02}/main.go", f"package main\n\n// change {n}\n"))
        message = f"Work on svc-{s:02} ({n})"
    data(message + "\n")
    if n > 0:
        out.write(b"from :%d\n" % n)
    for path, text in files:
        out.write(f"M 100644 inline {path}\n".encode())
        data(text)
    out.write(b"\n")
PY
git -C "$repo" reset -q --hard main
git -C "$repo" gc -q

bumps=$("$bin" -C "$repo" history -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["bumps"]))')
echo "repository: $(git -C "$repo" rev-list --count HEAD) commits, $bumps bumps found by history"
"$bin" -C "$repo" history >/dev/null # warm the page cache
printf '%-32s %-10s %-10s\n' command best_s peak_MiB
measure() {
  local label=$1
  shift
  read -r best peak < <(python3 bench/measure.py "$rounds" "$@")
  printf '%-32s %-10.3f %-10.1f\n' "$label" "$best" "$(echo "$peak / 1024" | bc -l)"
}
measure "git log --oneline" git -C "$repo" log --oneline
measure "kubectl gitops history" "$bin" -C "$repo" history
measure "kubectl gitops history -n 20" "$bin" -C "$repo" history -n 20
measure "kubectl gitops history --image" "$bin" -C "$repo" history --image ghcr.io/acme/svc-07
