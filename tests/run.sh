#!/usr/bin/env bash
# The project's test command (see README): every test, the cluster tests included.
#
# It provides what the tests need beyond cargo, git, kubectl and python3, in project-local
# places only (nothing is installed into the system by this script):
#   - pre-commit and prek (tests/requirements.txt, from PyPI) in a virtualenv at
#     $KGO_CACHE/venv, first on PATH for the tests;
#   - husky 9 and lefthook (tests/npm-requirements.txt, from the npm registry) under
#     $KGO_CACHE/npm, first on PATH for the tests, and husky 8 under $KGO_CACHE/npm-husky8,
#     named by HUSKY8 (its `husky` command would shadow husky 9's);
#   - a local Kubernetes API server (tests/cluster/apiserver.sh): built once into $KGO_CACHE,
#     started in a state directory of this run, and stopped (etcd and kube-apiserver) when the
#     script exits, also on failure and on Ctrl-C. A cluster you started yourself with
#     `apiserver.sh up` is never touched.
# A tool that is missing and cannot be provided stops the run with one line naming it; no test
# is skipped for it.
#
# To run the cluster tests against another cluster instead, point KGO_TEST_KUBECONFIG at its
# kubeconfig: the tests create and delete their own namespaces there. (KUBECONFIG itself is not
# used, so a developer's everyday cluster is never touched by accident.)
#
# Arguments go to the test binaries: ./tests/run.sh history   runs the tests matching "history".
set -euo pipefail
cd "$(dirname "$0")/.."

export KGO_CACHE="${KGO_CACHE:-$HOME/.cache/kubectl-gitops}"
VENV="$KGO_CACHE/venv"

say() { printf '[run.sh] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

for tool in cargo git kubectl python3; do
  command -v "$tool" >/dev/null 2>&1 || die "missing: $tool is not on PATH (the tests need it)"
done

# ---- pre-commit and prek, in a virtualenv of their own
requirements=tests/requirements.txt
stamp="$VENV/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing $(grep -v '^#' "$requirements" | paste -sd' ' -) into $VENV"
  mkdir -p "$KGO_CACHE"
  python3 -m venv "$VENV" >"$KGO_CACHE/venv.log" 2>&1 || {
    cat "$KGO_CACHE/venv.log" >&2
    die "missing: python3's venv module (on Debian/Ubuntu: apt-get install python3-venv)"
  }
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" \
    >>"$KGO_CACHE/venv.log" 2>&1 || {
    tail -n 20 "$KGO_CACHE/venv.log" >&2
    die "pip could not install $requirements into $VENV (log: $KGO_CACHE/venv.log)"
  }
  printf '%s\n' "$want" >"$stamp"
fi
export PATH="$VENV/bin:$PATH"

# ---- husky and lefthook, from the npm registry into prefixes of their own
command -v npm >/dev/null 2>&1 || die "missing: npm is not on PATH (the husky and lefthook tests install them from the npm registry)"
npm_requirements=tests/npm-requirements.txt
want="$(sha256sum "$npm_requirements" | cut -d' ' -f1)"
if [ "$(cat "$KGO_CACHE/npm.sha256" 2>/dev/null)" != "$want" ]; then
  mkdir -p "$KGO_CACHE"
  : >"$KGO_CACHE/npm.log"
  grep -v '^#' "$npm_requirements" | while read -r prefix packages; do
    [ -n "$prefix" ] || continue
    say "installing $packages into $KGO_CACHE/$prefix"
    rm -rf "${KGO_CACHE:?}/$prefix"
    # --ignore-scripts: lefthook's postinstall would run `lefthook install` in the repository
    # npm was started from, which is this one.
    # shellcheck disable=SC2086
    npm install --prefix "$KGO_CACHE/$prefix" --ignore-scripts --no-save --no-audit --no-fund \
      $packages >>"$KGO_CACHE/npm.log" 2>&1 || {
      tail -n 20 "$KGO_CACHE/npm.log" >&2
      die "npm could not install $packages into $KGO_CACHE/$prefix (log: $KGO_CACHE/npm.log)"
    }
  done
  printf '%s\n' "$want" >"$KGO_CACHE/npm.sha256"
fi
export PATH="$KGO_CACHE/npm/node_modules/.bin:$PATH"
export HUSKY8="$KGO_CACHE/npm-husky8/node_modules/.bin/husky"

# ---- the cluster
if [ -n "${KGO_TEST_KUBECONFIG:-}" ]; then
  export KUBECONFIG="$KGO_TEST_KUBECONFIG"
else
  # A state directory of this run's own: its etcd and kube-apiserver are this script's to stop.
  export KGO_STATE="$KGO_CACHE/test-cluster.$$"
  stop_cluster() {
    tests/cluster/apiserver.sh down || true
    rm -f "$KGO_STATE.lock"
  }
  trap stop_cluster EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  tests/cluster/apiserver.sh build
  eval "$(tests/cluster/apiserver.sh up)"
fi

cargo test -- --include-ignored "$@"
