#!/usr/bin/env bash
# Validates the Kubernetes manifests offline, without a cluster:
#   docker/kubernetes/validate.sh [FILE.yaml ...]   (default: every *.yaml here)
#
# `kubectl apply --dry-run=client` cannot do it: kubectl fetches the schemas
# from an API server. This uses the OpenAPI schemas that
# the npm package kubernetes-models ships (5.1.0: Kubernetes 1.34, e.g. it
# knows resource.k8s.io/v1), plus tsc for unknown fields; see
# validate.mjs. Needs node and npm; the three npm packages are installed once
# into docker/.work/k8s-validate (or $K8S_VALIDATE_TOOLS) and reused.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
tools=${K8S_VALIDATE_TOOLS:-$here/../.work/k8s-validate}
packages=(kubernetes-models@5.1.0 yaml@2.9.1 typescript@5.9.3)

if [[ $# -eq 0 ]]; then
  set -- "$here"/*.yaml
fi
files=()
for f in "$@"; do files+=("$(cd "$(dirname "$f")" && pwd)/$(basename "$f")"); done

mkdir -p "$tools"
if [[ $(cat "$tools/.installed" 2>/dev/null) != "${packages[*]}" ]]; then
  echo "installing ${packages[*]} into $tools" >&2
  [[ -f $tools/package.json ]] || echo '{"private": true, "type": "module"}' >"$tools/package.json"
  npm install --prefix "$tools" --no-audit --no-fund --silent "${packages[@]}"
  echo "${packages[*]}" >"$tools/.installed"
fi

cp "$here/validate.mjs" "$tools/validate.mjs"
cd "$tools"
exec node validate.mjs "${files[@]}"
