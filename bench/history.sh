#!/usr/bin/env bash
# Benchmark of `kubectl gitops history` on a long history: a repository of COMMITS commits
# (default 10,000) with one version change every 10th commit (1,000 changes). Most are image
# bumps (half made by `bump --commit` with Image-Bump trailers, half by hand without); five
# services are Argo CD Image Updater apps whose bumps create, change and delete
# `.argocd-source-<app>.yaml` files, and five are HelmReleases whose chart version is bumped. A
# third of the other commits edit YAML without touching a version, the rest edit non-YAML
# files. Prints how many changes were made and found, and the best wall-clock time of `history`
# next to `git log --oneline` on the same repository; asserts nothing.
# Usage: bench/history.sh [COMMITS]   (KGO_BIN=path skips the release build; ROUNDS=5)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${KGO_BIN:-}" ] || cargo build --release --quiet
bin=${KGO_BIN:-target/release/kubectl-gitops}
commits=${1:-10000}
rounds=${ROUNDS:-5}
work=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
repo="$work/repo"
git init -q -b main "$repo"

# git fast-import builds the whole history in one process, in about a second.
python3 - "$commits" "$work/made" <<'PY' | git -C "$repo" fast-import --quiet
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


def release(i, version):
    return f"""apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: svc-{i:02}
  namespace: apps
spec:
  interval: 10m
  chart:
    spec:
      chart: svc-{i:02}
      version: "{version}"
      sourceRef: {{kind: HelmRepository, name: acme, namespace: flux-system}}
"""


UPDATER = range(0, 5)
CHARTS = range(45, 50)


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
charts = [0] * services
overridden = [False] * services
made = 0
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
    deletes = []
    if n == 0:
        message = "init"
        for i in range(services):
            files.append((f"apps/svc-{i:02}/deployment.yaml", deployment(i, 0, 2)))
            files.append((f"apps/svc-{i:02}/config.yaml", config(i, 0)))
            if i in UPDATER:
                files.append((f"apps/svc-{i:02}/kustomization.yaml",
                              "resources:\n- deployment.yaml\n- config.yaml\n"))
            if i in CHARTS:
                files.append((f"apps/svc-{i:02}/release.yaml", release(i, "1.0.0")))
    elif n % 10 == 9 and s in UPDATER:
        # Image Updater: the override file is written; every fourth time it is removed,
        # which puts the base's 1.0.0 back.
        made += 1
        path = f"apps/svc-{s:02}/.argocd-source-svc-{s:02}.yaml"
        image = f"ghcr.io/acme/svc-{s:02}"
        if overridden[s] and tags[s] % 4 == 3:
            message = f"Revert image update of svc-{s:02}"
            overridden[s] = False
            deletes.append(path)
            old, tags[s] = tags[s], 0
        else:
            old = tags[s]
            tags[s] += 1
            overridden[s] = True
            message = (f"build: automatic update of svc-{s:02}\n\n"
                       f"updates image {image} tag '1.0.{old}' to '1.0.{tags[s]}'")
            files.append((path, f"kustomize:\n  images:\n  - {image}:1.0.{tags[s]}\n"))
    elif n % 10 == 9 and s in CHARTS:
        made += 1
        charts[s] += 1
        message = f"chore(deps): update svc-{s:02} chart to 1.{charts[s]}.0"
        files.append((f"apps/svc-{s:02}/release.yaml", release(s, f"1.{charts[s]}.0")))
    elif n % 10 == 9:
        made += 1
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
            # Image Updater apps keep their base tag; the override file carries the version.
            base = 0 if s in UPDATER else tags[s]
            files.append((f"apps/svc-{s:02}/deployment.yaml", deployment(s, base, replicas[s])))
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
    for path in deletes:
        out.write(f"D {path}\n".encode())
    out.write(b"\n")
with open(sys.argv[2], "w") as f:
    f.write(str(made))
PY
git -C "$repo" reset -q --hard main
git -C "$repo" gc -q

found=$("$bin" -C "$repo" history -o json | python3 -c '
import collections, json, sys
b = json.load(sys.stdin)["bumps"]
by = collections.Counter(e["kind"] + "/" + e["detectedBy"] for e in b)
print(len(b), "(" + ", ".join(k + " " + str(v) for k, v in sorted(by.items())) + ")")')

echo "repository: $(git -C "$repo" rev-list --count HEAD) commits, $(cat "$work/made") version changes made, $found found by history"
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
measure "kubectl gitops history --kind chart" "$bin" -C "$repo" history --kind chart
measure "kubectl gitops history --kind source" "$bin" -C "$repo" history --kind source
