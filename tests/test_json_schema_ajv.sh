#!/usr/bin/env bash
# test_json_schema_ajv.sh: cross-check tests/schemas/*.json with a real JSON
# Schema validator (ajv): the instances test_json_schema.c feeds the generated
# grammars as valid must validate, and the invalid ones must not; then 100
# documents sampled through each schema's grammar must validate. Skips (77)
# when node or ajv is missing (install: scripts/install-ajv.sh).
# Usage: test_json_schema_ajv.sh <cllm-binary> <shared-dir>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CLLM_AJV_DIR=${CLLM_AJV_DIR:-$HOME/.cache/cllm/ajv}
if ! command -v node >/dev/null; then echo "SKIP: node not found"; exit 77; fi
if [ ! -d "$CLLM_AJV_DIR/node_modules/ajv" ] || [ ! -d "$CLLM_AJV_DIR/node_modules/ajv-formats" ]; then
  echo "SKIP: ajv not installed in $CLLM_AJV_DIR (run scripts/install-ajv.sh)"; exit 77
fi
node "$here/ajv_validate.js" check "$here/schemas"

# Documents sampled through each schema's grammar (stories260K vocabulary,
# random logits standing in for a model) must validate too.
gen="$(dirname "$1")/test_json_schema"
if [ ! -x "$gen" ] || [ ! -f "$2/models/real/stories260K.gguf" ]; then
  echo "note: sampled-document check skipped (no $gen or no shared models)"; exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$gen" --emit "$tmp" 100
rc=0
for s in "$tmp"/*.schema.json; do
  b=${s%.schema.json}
  echo -n "$(basename "$b"): "
  node "$here/ajv_validate.js" validate "$s" "$b.docs.jsonl" | tail -1 || rc=1
done
exit $rc
