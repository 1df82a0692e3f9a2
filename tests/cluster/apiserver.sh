#!/usr/bin/env bash
# Local Kubernetes API server (etcd + kube-apiserver, no kubelet, no
# controller-manager) on 127.0.0.1 for the kubectl-gitops test suite.
#
#   tests/cluster/apiserver.sh build   # build kube-apiserver once into the cache (no root needed
#                                      # unless dpkg-dev, make or rsync is missing; see build below)
#   tests/cluster/apiserver.sh up      # start etcd + apiserver, print `export KUBECONFIG=...`
#   tests/cluster/apiserver.sh env     # print the export line if the cluster is up, else fail
#   tests/cluster/apiserver.sh status  # say whether it is up (exit 0) or not (exit 1)
#   tests/cluster/apiserver.sh down    # stop both, delete the state dir (keeps the binary)
#   tests/cluster/apiserver.sh delete-ns NS  # delete a namespace for real (no controller-manager here)
#
# Use it as:   eval "$(tests/cluster/apiserver.sh up)"
#
# Environment:
#   KGO_CACHE            cache dir (default $HOME/.cache/kubectl-gitops); binary goes to $KGO_CACHE/kube-apiserver
#   KGO_STATE            state dir (default $KGO_CACHE/cluster): certs, tokens, kubeconfig, etcd data, logs, pids
#   KGO_APISERVER_PORT   first port tried for the apiserver   (default 16443)
#   KGO_ETCD_PORT        first port tried for etcd clients    (default 12379; peer port is +1)
#   KGO_READY_TIMEOUT    seconds to wait for /readyz (default 60)
#   KGO_KEEP_SRC=1       keep the kubernetes source, the Go toolchain and the apt lists after a build
#
# Progress goes to stderr; only the export line goes to stdout.
set -euo pipefail

CACHE="${KGO_CACHE:-$HOME/.cache/kubectl-gitops}"
STATE="${KGO_STATE:-$CACHE/cluster}"
BIN="$CACHE/kube-apiserver"
WORK="$CACHE/build"
MARKER="$STATE/.kubectl-gitops-cluster"

log() { printf '[apiserver.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else die "need root (or sudo) for: $*"
  fi
}

# Serialise build (per cache) and up/down (per state dir) across concurrent
# callers, e.g. parallel test binaries. fd 8/9 are closed in the daemons.
with_build_lock() {
  mkdir -p "$CACHE"
  exec 8>"$CACHE/.build.lock"
  flock 8
}
with_state_lock() {
  mkdir -p "$(dirname "$STATE")"
  exec 9>"$STATE.lock"
  flock 9
}

# daemonize LOGFILE PIDFILE CMD...: run CMD in its own session, stdin from
# /dev/null, stdout/stderr appended to LOGFILE, every other inherited fd
# closed (so it holds no lock and no caller pipe), pid written to PIDFILE.
daemonize() {
  local logf=$1 pidf=$2; shift 2
  (
    for fd in "/proc/$BASHPID/fd/"*; do
      fd=${fd##*/}
      case $fd in 0|1|2|255) ;; *) eval "exec $fd>&-" 2>/dev/null || true ;; esac
    done
    exec setsid "$@" </dev/null >>"$logf" 2>&1
  ) &
  echo $! >"$pidf"
}

# ---------------------------------------------------------------- build ----

# The build needs Debian's Go 1.19 toolchain, two Go libraries, etcd and the kubernetes source
# package. None of them is installed into the system: a private apt configuration under
# $APT_DIR (the machine's own Debian entries for this release, as deb and deb-src, with their
# own package lists and download cache) fetches them, and the .debs are unpacked into $TOOLS.
# So the build needs no root, writes nothing under /etc/apt or /var/lib/apt, and cannot change
# the version of an installed package. Only commands a Debian machine normally has are taken
# from the system (dpkg-source for `apt-get source`, make, rsync, openssl, curl); one that is
# missing is installed alone, at the version this release provides, never as an upgrade.
APT_DIR="$CACHE/apt"
TOOLS="$CACHE/tools"
GOROOT_DIR="$TOOLS/usr/lib/go-1.19"
GOCODE="$TOOLS/usr/share/gocode/src"
ETCD_BIN="$TOOLS/usr/bin/etcd"
GO_DEBS=(golang-1.19-go golang-1.19-src golang-github-modern-go-reflect2-dev
         golang-github-json-iterator-go-dev)

papt() {
  apt-get -q -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$APT_DIR/sources.list.d" \
    -o Dir::State::Lists="$APT_DIR/lists" -o Dir::Cache="$APT_DIR/cache" \
    -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)" "$@"
}

# Copy every enabled Debian entry of this release into $APT_DIR, once as deb and once as
# deb-src (derived from the machine's entries: no host names hard-coded here).
private_apt_sources() {
  local codename f d="$APT_DIR/sources.list.d"
  # shellcheck disable=SC1091
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  [ -n "$codename" ] || die "cannot read VERSION_CODENAME from /etc/os-release"
  rm -rf "$d"
  mkdir -p "$d" "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    awk -v cn="$codename" '
      function flush() {
        if (stanza != "" && isdeb && suiteok) {
          out = out "Types: deb\n" stanza "\n" "Types: deb-src\n" stanza "\n"
        }
        stanza = ""; isdeb = 0; suiteok = 0
      }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      /^[Tt]ypes:/ { if ($0 ~ /(^|[[:space:]:])deb([[:space:]]|$)/) isdeb = 1; next }
      /^[Ss]uites:/ {
        n = split($0, w, /[[:space:]]+/)
        for (i = 2; i <= n; i++) if (w[i] == cn || index(w[i], cn "-") == 1) suiteok = 1
      }
      /^[Ee]nabled:[[:space:]]*no/ { isdeb = 0 }
      { stanza = stanza $0 "\n" }
      END { flush(); printf "%s", out }
    ' "$f" >>"$d/debian.sources"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    awk -v cn="$codename" '
      $1 == "deb" {
        ok = 0
        for (i = 2; i <= NF; i++) if ($i == cn || index($i, cn "-") == 1) ok = 1
        if (ok) { print; sub(/^deb/, "deb-src"); print }
      }' "$f" >>"$d/debian.list"
  done
  [ -s "$d/debian.sources" ] || rm -f "$d/debian.sources"
  [ -s "$d/debian.list" ] || rm -f "$d/debian.list"
  [ -e "$d/debian.sources" ] || [ -e "$d/debian.list" ] \
    || die "found no Debian '$codename' apt entry in /etc/apt to fetch the kubernetes source from"
  log "apt-get update of a private package list in $APT_DIR (log: $CACHE/apt.log)"
  papt update >"$CACHE/apt.log" 2>&1 || { tail -n 30 "$CACHE/apt.log" >&2; die "apt-get update (private lists in $APT_DIR) failed"; }
}

# fetch_debs PKG...: download Debian packages with the private apt configuration and unpack
# them into $TOOLS (no install, no root).
fetch_debs() {
  local debs="$APT_DIR/debs" deb
  rm -rf "$debs"
  mkdir -p "$debs" "$TOOLS"
  log "apt-get download $* (unpacked into $TOOLS)"
  (cd "$debs" && papt download "$@") >>"$CACHE/apt.log" 2>&1 \
    || { tail -n 30 "$CACHE/apt.log" >&2; die "apt-get download $* failed"; }
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$TOOLS"; done
  rm -rf "$debs"
}

# need_commands CMD=PACKAGE...: install the packages of the commands that are missing, and
# only those. The install is simulated first; if apt would upgrade (or remove) any installed
# package to satisfy it, nothing is installed and the message says which packages it wanted.
need_commands() {
  local pair missing=()
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null 2>&1 || missing+=("${pair#*=}")
  done
  [ "${#missing[@]}" -gt 0 ] || return 0
  install_missing "${missing[@]}"
}

install_missing() {
  local pkgs=() p sim upgrades
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || pkgs+=("$p")
  done
  [ "${#pkgs[@]}" -gt 0 ] || return 0
  command -v apt-get >/dev/null 2>&1 || die "missing: ${pkgs[*]} (install them; this machine has no apt-get)"
  sim="$(apt-get install -s -q --no-install-recommends "${pkgs[@]}" 2>&1)" \
    || die "missing: ${pkgs[*]}; apt-get cannot install them: $(tail -n 3 <<<"$sim")"
  # "Inst NAME [OLDVERSION] (NEW...)" is an upgrade, "Remv NAME" a removal.
  upgrades="$(awk '($1 == "Inst" && $3 ~ /^\[/) || $1 == "Remv" { print $2 }' <<<"$sim" | paste -sd' ' -)"
  if [ -n "$upgrades" ]; then
    die "missing: ${pkgs[*]}; installing them would upgrade or remove installed packages ($upgrades), which this script never does: install ${pkgs[*]} yourself, or set KGO_TEST_KUBECONFIG to another cluster"
  fi
  log "installing ${pkgs[*]} (missing; nothing installed is upgraded; log: $CACHE/apt.log)"
  mkdir -p "$CACHE"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    --no-upgrade "${pkgs[@]}" >>"$CACHE/apt.log" 2>&1 \
    || { tail -n 30 "$CACHE/apt.log" >&2; die "apt-get install ${pkgs[*]} failed, see $CACHE/apt.log"; }
}

# What `up` needs besides the cached kube-apiserver and etcd.
ensure_runtime_deps() {
  command -v kubectl >/dev/null 2>&1 || die "kubectl not found on PATH"
  need_commands openssl=openssl curl=curl base64=coreutils
}

built() { [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1 && [ -x "$ETCD_BIN" ]; }

cmd_build() {
  if built; then
    log "kube-apiserver already built: $BIN ($("$BIN" --version 2>&1)), etcd: $ETCD_BIN"
    return 0
  fi
  local t0=$SECONDS
  private_apt_sources
  if ! [ -x "$ETCD_BIN" ]; then
    fetch_debs etcd-server
    [ -x "$ETCD_BIN" ] || die "no etcd binary at $ETCD_BIN after unpacking etcd-server"
  fi
  if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
    log "built already: $BIN"
    return 0
  fi
  need_commands dpkg-source=dpkg-dev make=make rsync=rsync
  [ -x "$GOROOT_DIR/bin/go" ] || fetch_debs "${GO_DEBS[@]}"
  [ -x "$GOROOT_DIR/bin/go" ] || die "no go binary at $GOROOT_DIR/bin/go after unpacking golang-1.19-go"
  mkdir -p "$WORK"
  local src
  src="$(find "$WORK" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)"
  if [ -z "$src" ]; then
    log "apt-get source kubernetes (into $WORK)"
    (cd "$WORK" && papt source kubernetes) >"$CACHE/apt-source.log" 2>&1 \
      || { tail -n 30 "$CACHE/apt-source.log" >&2; die "apt-get source kubernetes failed"; }
    src="$(find "$WORK" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n1)"
    [ -n "$src" ] || die "apt-get source kubernetes produced no kubernetes-* directory"
  else
    log "reusing source tree $src"
  fi

  # Go 1.19 + the reflect2/json-iterator vendored in 1.20.2 => panic on every
  # POST. Swap in Debian's (Go-1.19-compatible) copies.
  local gocode="$GOCODE" pkg
  for pkg in github.com/modern-go/reflect2 github.com/json-iterator/go; do
    [ -d "$gocode/$pkg" ] || die "missing $gocode/$pkg (not in the unpacked Debian -dev package?)"
    log "replacing vendor/$pkg with $gocode/$pkg"
    rm -rf "${src:?}/vendor/$pkg"
    mkdir -p "$src/vendor/$pkg"
    cp -a "$gocode/$pkg/." "$src/vendor/$pkg/"
    # Only the Go package sources are wanted; drop nested test data / tools.
    find "$src/vendor/$pkg" -name '*_test.go' -delete
  done

  local buildlog="$CACHE/build.log"
  # hack/lib/init.sh of 1.20 forces GO111MODULE=off and builds in a GOPATH
  # it lays out under _output/, so vendor/ is used as is; GOFLAGS is cleared
  # so that a user's -mod=... cannot break that GOPATH-mode build.
  log "make WHAT=cmd/kube-apiserver (about 10 min on 2 cores; log: $buildlog)"
  if ! (cd "$src" && env GOFLAGS= GOTOOLCHAIN=local GOROOT="$GOROOT_DIR" PATH="$GOROOT_DIR/bin:$PATH" \
          KUBE_VERBOSE=1 make WHAT=cmd/kube-apiserver) >"$buildlog" 2>&1; then
    tail -n 40 "$buildlog" >&2
    die "build failed, see $buildlog"
  fi
  local out
  out="$(find "$src/_output" -type f -name kube-apiserver -perm -u+x | head -n1)"
  [ -n "$out" ] || die "build finished but no kube-apiserver under $src/_output"
  install -m 0755 "$out" "$BIN.tmp"
  mv -f "$BIN.tmp" "$BIN"
  if [ "${KGO_KEEP_SRC:-0}" != 1 ]; then
    log "removing the source, the Go toolchain and the private apt lists (set KGO_KEEP_SRC=1 to keep them)"
    rm -rf "$WORK" "$APT_DIR" "$TOOLS/usr/lib/go-1.19" "$TOOLS/usr/share/go-1.19" "$TOOLS/usr/share/gocode"
  fi
  log "built $BIN ($("$BIN" --version 2>&1)) in $((SECONDS - t0)) s"
}

# ------------------------------------------------------------------- up ----

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pick_port() {  # first free port at $1, $1+step, ...
  local p=$1 step=${2:-10} _
  for _ in $(seq 1 100); do
    if ! port_in_use "$p" && ! port_in_use $((p + 1)); then echo "$p"; return 0; fi
    p=$((p + step))
  done
  die "no free port found near $1"
}

pid_alive() {  # pidfile, expected program name (basename of argv[0])
  local pidf=$1 want=$2 pid argv0
  [ -f "$pidf" ] || return 1
  pid="$(cat "$pidf")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  argv0="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | head -n1)" || return 1
  [ "${argv0##*/}" = "$want" ]
}

load_ports() {
  [ -f "$STATE/ports.env" ] || return 1
  # shellcheck disable=SC1091
  . "$STATE/ports.env"
}

api_healthy() {
  load_ports || return 1
  [ -f "$STATE/ca.crt" ] || return 1
  pid_alive "$STATE/etcd.pid" etcd && pid_alive "$STATE/kube-apiserver.pid" kube-apiserver || return 1
  curl -fsS --max-time 3 --cacert "$STATE/ca.crt" "https://127.0.0.1:$APISERVER_PORT/readyz" >/dev/null 2>&1
}

export_line() { printf 'export KUBECONFIG=%q\n' "$STATE/kubeconfig"; }

stop_pid() {  # pidfile, expected program name
  local pidf=$1 want=$2 pid _
  if pid_alive "$pidf" "$want"; then
    pid="$(cat "$pidf")"
    log "stopping $want (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      [ -d "/proc/$pid" ] || break
      sleep 0.2
    done
    if [ -d "/proc/$pid" ]; then kill -9 "$pid" 2>/dev/null || true; sleep 0.2; fi
  fi
  rm -f "$pidf"
}

make_pki() {
  local d="$STATE"
  [ -f "$d/ca.crt" ] && [ -f "$d/apiserver.crt" ] && [ -f "$d/sa.key" ] && [ -f "$d/tokens.csv" ] && return 0
  log "creating throwaway CA, serving cert, service-account keys and tokens in $d"
  (
    umask 077
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -keyout ca.key -out ca.crt \
      -subj "/CN=kubectl-gitops-test-ca" 2>/dev/null
    cat >apiserver.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = kube-apiserver
[ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,IP:10.0.0.1
EOF
    openssl req -new -newkey rsa:2048 -nodes -keyout apiserver.key -out apiserver.csr \
      -config apiserver.cnf 2>/dev/null
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile apiserver.cnf -extensions ext -out apiserver.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    openssl rand -hex 24 >admin.token
    openssl rand -hex 24 >readonly.token
    # token,user,uid,"group1,group2"
    printf '%s,admin,kgo-admin,"system:masters"\n%s,readonly,kgo-readonly\n' \
      "$(cat admin.token)" "$(cat readonly.token)" >tokens.csv
  )
}

write_kubeconfig() {
  local ca
  ca="$(base64 -w0 <"$STATE/ca.crt")"
  (
    umask 077
    cat >"$STATE/kubeconfig.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $ca
users:
- name: local-admin
  user:
    token: $(cat "$STATE/admin.token")
- name: local-readonly
  user:
    token: $(cat "$STATE/readonly.token")
contexts:
- name: local-admin
  context:
    cluster: local
    user: local-admin
    namespace: default
- name: local-readonly
  context:
    cluster: local
    user: local-readonly
    namespace: default
current-context: local-admin
EOF
    mv -f "$STATE/kubeconfig.tmp" "$STATE/kubeconfig"
  )
}

start_etcd() {
  pid_alive "$STATE/etcd.pid" etcd && return 0
  local extra=()
  if "$ETCD_BIN" --help 2>&1 | grep -q -- '--unsafe-no-fsync'; then extra+=(--unsafe-no-fsync); fi
  log "starting etcd on 127.0.0.1:$ETCD_PORT (log: $STATE/etcd.log)"
  daemonize "$STATE/etcd.log" "$STATE/etcd.pid" "$ETCD_BIN" \
    --name kgo \
    --data-dir "$STATE/etcd-data" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "kgo=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state new \
    --quota-backend-bytes 2147483648 \
    --logger zap --log-outputs stderr \
    "${extra[@]}"
  local _
  for _ in $(seq 1 100); do
    if curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"'; then
      return 0
    fi
    pid_alive "$STATE/etcd.pid" etcd || { tail -n 30 "$STATE/etcd.log" >&2; die "etcd exited"; }
    sleep 0.2
  done
  tail -n 30 "$STATE/etcd.log" >&2
  die "etcd did not become healthy in 20 s"
}

# Admission plugins that need controllers we do not run (no
# kube-controller-manager: nothing creates default ServiceAccounts, so the
# ServiceAccount plugin would reject Pods; the others are irrelevant without
# nodes / storage and only add noise).
DISABLED_ADMISSION="ServiceAccount,DefaultStorageClass,StorageObjectInUseProtection,PersistentVolumeClaimResize,DefaultTolerationSeconds,TaintNodesByCondition"

start_apiserver() {
  pid_alive "$STATE/kube-apiserver.pid" kube-apiserver && return 0
  log "starting kube-apiserver on https://127.0.0.1:$APISERVER_PORT (log: $STATE/kube-apiserver.log)"
  daemonize "$STATE/kube-apiserver.log" "$STATE/kube-apiserver.pid" "$BIN" \
    --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 \
    --endpoint-reconciler-type=none \
    --secure-port="$APISERVER_PORT" \
    --insecure-port=0 \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --cert-dir="$STATE/apiserver-certs" \
    --tls-cert-file="$STATE/apiserver.crt" \
    --tls-private-key-file="$STATE/apiserver.key" \
    --client-ca-file="$STATE/ca.crt" \
    --token-auth-file="$STATE/tokens.csv" \
    --authorization-mode=RBAC \
    --anonymous-auth=true \
    --service-account-key-file="$STATE/sa.pub" \
    --service-account-signing-key-file="$STATE/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --api-audiences=https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range=10.96.0.0/16 \
    --disable-admission-plugins="$DISABLED_ADMISSION" \
    --allow-privileged=true \
    --profiling=false \
    --logtostderr=true \
    --v=1
}

wait_ready() {
  local deadline=$((SECONDS + ${KGO_READY_TIMEOUT:-60}))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if curl -fsS --max-time 3 --cacert "$STATE/ca.crt" "https://127.0.0.1:$APISERVER_PORT/readyz" >/dev/null 2>&1; then
      return 0
    fi
    if ! pid_alive "$STATE/kube-apiserver.pid" kube-apiserver; then
      tail -n 40 "$STATE/kube-apiserver.log" >&2
      die "kube-apiserver exited"
    fi
    sleep 0.5
  done
  tail -n 40 "$STATE/kube-apiserver.log" >&2
  curl -sS --max-time 3 --cacert "$STATE/ca.crt" "https://127.0.0.1:$APISERVER_PORT/readyz?verbose" >&2 || true
  die "kube-apiserver not ready after ${KGO_READY_TIMEOUT:-60} s"
}

apply_rbac() {
  log "granting user 'readonly' get/list/watch on everything"
  KUBECONFIG="$STATE/kubeconfig" kubectl --context local-admin apply -f - >&2 <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: kgo-readonly
rules:
- apiGroups: ["*"]
  resources: ["*"]
  verbs: ["get", "list", "watch"]
- nonResourceURLs: ["*"]
  verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kgo-readonly
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: kgo-readonly
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: User
  name: readonly
EOF
}

cmd_up() {
  with_state_lock
  if api_healthy; then
    log "already up: https://127.0.0.1:$APISERVER_PORT"
    export_line
    return 0
  fi
  local t0=$SECONDS
  built || { with_build_lock; cmd_build; }
  ensure_runtime_deps
  mkdir -p "$STATE"
  chmod 700 "$STATE"
  touch "$MARKER"
  if ! load_ports; then
    local ap ep
    ap="$(pick_port "${KGO_APISERVER_PORT:-16443}")"
    ep="$(pick_port "${KGO_ETCD_PORT:-12379}")"
    printf 'APISERVER_PORT=%s\nETCD_PORT=%s\nETCD_PEER_PORT=%s\n' "$ap" "$ep" $((ep + 1)) >"$STATE/ports.env"
    load_ports
  fi
  # Half-up (one process died)? Restart the apiserver; keep etcd data.
  stop_pid "$STATE/kube-apiserver.pid" kube-apiserver
  make_pki
  start_etcd
  start_apiserver
  wait_ready
  write_kubeconfig
  apply_rbac
  log "up in $((SECONDS - t0)) s: https://127.0.0.1:$APISERVER_PORT, contexts local-admin (current) and local-readonly"
  export_line
}

cmd_env() {
  if api_healthy; then export_line; else die "cluster is not up (run: $0 up)"; fi
}

cmd_status() {
  if api_healthy; then
    log "up: https://127.0.0.1:$APISERVER_PORT (etcd 127.0.0.1:$ETCD_PORT), KUBECONFIG=$STATE/kubeconfig"
  else
    log "not up"; return 1
  fi
}

# There is no kube-controller-manager, so a deleted namespace stays
# Terminating forever. delete-ns does the namespace controller's job: mark it
# deleted, delete everything in it, then clear the "kubernetes" finalizer so
# the name can be reused at once. Never waits on anything.
cmd_delete_ns() {
  local ns=${1:-}
  [ -n "$ns" ] || die "usage: $0 delete-ns NAMESPACE"
  api_healthy || die "cluster is not up (run: $0 up)"
  local k=(kubectl --kubeconfig "$STATE/kubeconfig" --context local-admin)
  "${k[@]}" delete namespace "$ns" --wait=false --ignore-not-found >&2
  local types
  types="$("${k[@]}" api-resources --namespaced --verbs=list,delete -o name | paste -sd, -)"
  "${k[@]}" -n "$ns" delete "$types" --all --wait=false --ignore-not-found 2>&1 \
    | grep -v -e '^Warning:' -e '^No resources found' >&2 || true
  if "${k[@]}" get namespace "$ns" >/dev/null 2>&1; then
    printf '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"%s"},"spec":{"finalizers":[]}}' "$ns" \
      | "${k[@]}" replace --raw "/api/v1/namespaces/$ns/finalize" -f - >/dev/null
  fi
  log "namespace $ns deleted"
}

cmd_down() {
  with_state_lock
  stop_pid "$STATE/kube-apiserver.pid" kube-apiserver
  stop_pid "$STATE/etcd.pid" etcd
  if [ -d "$STATE" ]; then
    if [ -f "$MARKER" ]; then
      log "removing $STATE (cached binary $BIN is kept)"
      rm -rf "${STATE:?}"
    else
      log "not removing $STATE: it has no $(basename "$MARKER") marker"
    fi
  fi
  log "down"
}

main() {
  case "${1:-}" in
    build)  with_build_lock; cmd_build ;;
    up)     cmd_up ;;
    down)   cmd_down ;;
    env)    cmd_env ;;
    status) cmd_status ;;
    delete-ns) shift; cmd_delete_ns "$@" ;;
    *) echo "usage: $0 {build|up|down|env|status|delete-ns NAMESPACE}" >&2; exit 2 ;;
  esac
}

# One line, so that bash has read all it will ever run before it starts.
main "$@"; exit
