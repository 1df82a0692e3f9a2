#!/usr/bin/env bash
# The project's test command (see README): every test, the cluster tests included.
#
# Cluster tests run against a local Kubernetes API server that tests/cluster/apiserver.sh builds
# (once, cached in ~/.cache/kubectl-gitops) and starts on 127.0.0.1. To run them against another
# cluster instead, point KGO_TEST_KUBECONFIG at its kubeconfig: the tests create and delete their
# own namespaces there. (KUBECONFIG itself is not used, so a developer's everyday cluster is
# never touched by accident.)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${KGO_TEST_KUBECONFIG:-}" ]; then
  export KUBECONFIG="$KGO_TEST_KUBECONFIG"
else
  eval "$(tests/cluster/apiserver.sh up)"
fi
cargo test -- --include-ignored "$@"
