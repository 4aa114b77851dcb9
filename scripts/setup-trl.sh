#!/usr/bin/env bash
# Creates .venv-trl (git-ignored): TRL's GRPOTrainer and its dependencies (scripts/requirements-trl.txt,
# every version pinned) on top of Debian's python3-torch (1.13) and python3-numpy, for
# scripts/trl-compare.sh. Separate from .venv (scripts/setup-deps.sh), which CI builds and which
# must not depend on TRL. Needs the Debian packages of scripts/setup-deps.sh (python3-venv,
# python3-torch, python3-numpy). Idempotent: does nothing when the venv matches the requirements.
# pip's plan is checked before anything is installed: it must never install torch, numpy or
# nvidia-* packages over Debian's builds.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-trl"
req="$root/scripts/requirements-trl.txt"
req_sum="$(sha256sum "$req" | cut -d' ' -f1)"

if [ -x "$venv/bin/python" ] && [ "$(cat "$venv/requirements.sha256" 2>/dev/null)" = "$req_sum" ]; then
  echo "setup-trl: $venv is up to date"
  exit 0
fi

for module in torch numpy; do
  if ! /usr/bin/python3 -c "import $module" 2>/dev/null; then
    echo "setup-trl: Debian's python3-$module is missing; run scripts/setup-deps.sh first" >&2
    exit 1
  fi
done

echo "setup-trl: creating $venv"
/usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install -q --dry-run --report "$venv/pip-plan.json" -r "$req"
"$venv/bin/python" - "$venv/pip-plan.json" <<'PY'
import json, sys
plan = [i["metadata"]["name"].lower() for i in json.load(open(sys.argv[1]))["install"]]
bad = [p for p in plan if p in ("torch", "numpy") or p.startswith("nvidia-")]
if bad:
    sys.exit(f"setup-trl: pip would install {bad} over Debian's python3-torch/python3-numpy; fix scripts/requirements-trl.txt")
print(f"setup-trl: pip's plan installs {len(plan)} packages, none of them torch, numpy or nvidia-*")
PY
"$venv/bin/pip" install -q -r "$req"
"$venv/bin/python" -c "import torch, numpy, trl, transformers, accelerate, datasets; print('setup-trl: torch', torch.__version__, 'numpy', numpy.__version__, 'trl', trl.__version__, 'transformers', transformers.__version__, 'accelerate', accelerate.__version__, 'datasets', datasets.__version__)"
echo "$req_sum" >"$venv/requirements.sha256"
