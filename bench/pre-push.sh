#!/usr/bin/env bash
# Benchmark of the pre-push hook: the time it adds to pushing one changed file in a repository
# of N documents (default 10,000). Prints figures; asserts nothing.
# Usage: bench/pre-push.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${KGO_BIN:-}" ] || cargo build --release --quiet
bin=${KGO_BIN:-$(pwd)/target/release/kubectl-gitops}
n=${1:-10000}
rounds=${ROUNDS:-10}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com
python3 bench/generate.py "$n" "$work/repo" 2>/dev/null
git init -q --bare -b main "$work/remote.git"
cd "$work/repo"
git init -q -b main
git add -A && git commit -q -m "initial"
git remote add origin "$work/remote.git"
git push -q --no-verify origin main
old=$(git rev-parse HEAD)
file=$(git ls-files 'apps/*.yaml' | sed -n '500p')
sed -i 's/replicas: \([0-9]\)/replicas: 9/' "$file"
git commit -q -am "scale one app"
new=$(git rev-parse HEAD)
docs=$(git ls-files '*.yaml' | xargs cat | grep -c '^kind:')

# The hook alone, exactly as git runs it (stdin line, remote name and URL).
line="refs/heads/main $new refs/heads/main $old"
cat > "$work/hook.sh" <<SH
#!/bin/sh
echo "$line" | "$bin" hook pre-push origin "$work/remote.git"
SH
chmod +x "$work/hook.sh"
"$work/hook.sh" >/dev/null 2>&1 || { echo "the hook rejected a valid push" >&2; exit 1; }
read -r hook_s _ < <(python3 "$OLDPWD/bench/measure.py" "$rounds" "$work/hook.sh")
# For scale: `git push --dry-run` of the same commit, which does the ref negotiation a push does.
read -r push_s _ < <(python3 "$OLDPWD/bench/measure.py" "$rounds" git push -q --dry-run --no-verify origin main)
printf 'repository: %s documents in %s files; one file changed\n' "$docs" "$(git ls-files '*.yaml' | wc -l)"
printf 'pre-push hook (best of %s): %.1f ms\n' "$rounds" "$(echo "$hook_s * 1000" | bc -l)"
printf 'git push --dry-run --no-verify (best of %s): %.1f ms\n' "$rounds" "$(echo "$push_s * 1000" | bc -l)"
