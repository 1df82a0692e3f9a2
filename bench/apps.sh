#!/usr/bin/env bash
# Benchmark of the apps model: a synthetic Flux repository of 200 apps across 4 clusters
# (flux bootstrap's layout: clusters/<c>/flux-system, one Kustomization file per app, one
# directory of manifests per app). Prints figures; asserts nothing.
#
#   `apps`                               list (and render) every app
#   `diff --from HEAD~1 --to HEAD`       one app's file changed
#   the pre-push hook                    for the push of that commit
#   `flux-style kustomize` variant       the same with a kustomization.yaml in every app
#
# Usage: bench/apps.sh            (KGO_BIN=path to use a built binary; ROUNDS=n)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${KGO_BIN:-}" ] || cargo build --release --quiet
bin=${KGO_BIN:-$(pwd)/target/release/kubectl-gitops}
rounds=${ROUNDS:-10}
work=$(mktemp -d)
# KEEP=1 keeps the repositories (for timing a peer against them with farm-bench).
[ -n "${KEEP:-}" ] && echo "repositories in $work" || trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com

# generate DIR WITH_KUSTOMIZATION
generate() {
  python3 - "$1" "$2" <<'PY'
import os, sys
root, with_k = sys.argv[1], sys.argv[2] == "1"
def write(path, text):
    path = os.path.join(root, path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "w").write(text)
for c in range(1, 5):
    cluster = f"cluster{c}"
    write(f"clusters/{cluster}/flux-system/gotk-sync.yaml", f"""apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: flux-system, namespace: flux-system}}
spec: {{interval: 1m, url: https://example.com/fleet.git, ref: {{branch: main}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: flux-system, namespace: flux-system}}
spec:
  interval: 10m
  path: ./clusters/{cluster}
  prune: true
  sourceRef: {{kind: GitRepository, name: flux-system}}
""")
    write(f"clusters/{cluster}/flux-system/kustomization.yaml", "resources: [gotk-sync.yaml]\n")
    for a in range(1, 51):
        app = f"app{a:02d}"
        write(f"clusters/{cluster}/{app}.yaml", f"""apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: {app}, namespace: flux-system}}
spec:
  interval: 10m
  path: ./apps/{cluster}/{app}
  prune: true
  targetNamespace: {app}
  sourceRef: {{kind: GitRepository, name: flux-system}}
  postBuild:
    substitute: {{cluster: {cluster}}}
""")
        write(f"apps/{cluster}/{app}/deployment.yaml", f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: {app}
  labels: {{app: {app}, cluster: "${{cluster}}"}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: {app}}}}}
  template:
    metadata: {{labels: {{app: {app}}}}}
    spec:
      containers:
        - name: {app}
          image: ghcr.io/example/{app}:1.0.{a}
          resources: {{limits: {{cpu: 100m, memory: 64Mi}}}}
""")
        write(f"apps/{cluster}/{app}/service.yaml", f"""apiVersion: v1
kind: Service
metadata: {{name: {app}}}
spec:
  selector: {{app: {app}}}
  ports: [{{port: 80}}]
""")
        if with_k:
            write(f"apps/{cluster}/{app}/kustomization.yaml", "resources: [deployment.yaml, service.yaml]\n")
PY
}

# setup NAME WITH_KUSTOMIZATION: a repository with one more commit that changes one app.
setup() {
  local dir="$work/$1"
  generate "$dir/repo" "$2"
  git init -q --bare -b main "$dir/remote.git"
  (
    cd "$dir/repo"
    git init -q -b main
    git remote add origin https://example.com/fleet.git
    git remote add push "$dir/remote.git"
    git add -A && git commit -q -m initial
    git push -q --no-verify push main
    sed -i 's/replicas: 2/replicas: 3/' apps/cluster3/app17/deployment.yaml
    git commit -q -am "scale app17 in cluster3"
    cat > "$dir/hook.sh" <<SH
#!/bin/sh
cd "$dir/repo" && echo "refs/heads/main $(git rev-parse HEAD) refs/heads/main $(git rev-parse HEAD~1)" | "$bin" hook pre-push push "$dir/remote.git"
SH
    chmod +x "$dir/hook.sh"
    "$dir/hook.sh" >/dev/null 2>&1 || { echo "the hook rejected a valid push in $1" >&2; exit 1; }
  )
}

figure() { # label command...
  local label=$1; shift
  read -r best rss < <(python3 bench/measure.py "$rounds" "$@")
  printf '  %-44s best %7.1f ms   peak RSS %6.1f MiB\n' "$label" "$(echo "$best*1000" | bc -l)" "$(echo "$rss/1024" | bc -l)"
}

for variant in plain:0 kustomize:1; do
  name=${variant%%:*}
  setup "$name" "${variant##*:}"
  repo="$work/$name/repo"
  apps=$(cd "$repo" && "$bin" apps -o json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["apps"]))')
  echo "200 Flux apps, 4 clusters, app directories: $name ($apps apps listed, $rounds rounds)"
  figure "kubectl gitops apps" sh -c "cd '$repo' && exec '$bin' apps >/dev/null"
  figure "kubectl gitops diff --from HEAD~1 --to HEAD" sh -c "cd '$repo' && '$bin' diff --from HEAD~1 --to HEAD >/dev/null; [ \$? -le 1 ]"
  figure "pre-push hook (one app's file changed)" "$work/$name/hook.sh"
  # The peer: what a script does without us, told which app changed: both revisions'
  # files out of git, `kubectl kustomize` of that app on each, and a diff.
  cat > "$work/$name/peer.sh" <<SH
#!/bin/sh
set -e
t=\$(mktemp -d)
cd "$repo"
for rev in HEAD~1 HEAD; do mkdir "\$t/\$rev"; git archive "\$rev" | tar -x -C "\$t/\$rev"; done
for rev in HEAD~1 HEAD; do
  if [ -f "\$t/\$rev/apps/cluster3/app17/kustomization.yaml" ]; then kubectl kustomize "\$t/\$rev/apps/cluster3/app17"; else cat "\$t/\$rev"/apps/cluster3/app17/*.yaml; fi > "\$t/\$rev.yaml"
done
diff -u "\$t/HEAD~1.yaml" "\$t/HEAD.yaml" >/dev/null || true
rm -rf "\$t"
SH
  chmod +x "$work/$name/peer.sh"
  figure "peer: git archive + kubectl kustomize + diff" "$work/$name/peer.sh"
  figure "for scale: git log --oneline -1" sh -c "cd '$repo' && exec git log --oneline -1 >/dev/null"
done
