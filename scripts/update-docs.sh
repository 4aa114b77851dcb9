#!/usr/bin/env bash
# Regenerates the reference tables of docs/objectives.md (between its GENERATED markers) from the
# registries: `rlpp list --markdown`. Run after adding a component or changing a default.
#   bash scripts/update-docs.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
doc=docs/objectives.md
tables=$(mktemp)
trap 'rm -f "$tables" "$doc.tmp"' EXIT
"$build/bin/rlpp" list --markdown > "$tables"
awk -v tables="$tables" '
  /<!-- BEGIN GENERATED -->/ { print; while ((getline line < tables) > 0) print line; skip = 1; next }
  /<!-- END GENERATED -->/ { skip = 0 }
  !skip { print }
' "$doc" > "$doc.tmp"
mv "$doc.tmp" "$doc"
echo "update-docs: regenerated the reference tables of $doc"
