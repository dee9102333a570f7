#!/usr/bin/env bash
# install-ajv.sh: install the ajv JSON Schema validator (npm) that
# tests/test_json_schema_ajv.sh uses, into $CLLM_AJV_DIR (default
# ~/.cache/cllm/ajv). Needs node and npm; idempotent.
set -euo pipefail
dir=${CLLM_AJV_DIR:-$HOME/.cache/cllm/ajv}
if [ -d "$dir/node_modules/ajv" ] && [ -d "$dir/node_modules/ajv-formats" ]; then exit 0; fi
command -v npm >/dev/null || { echo "install-ajv: npm not found" >&2; exit 1; }
mkdir -p "$dir"
npm install --silent --no-audit --no-fund --prefix "$dir" ajv@8 ajv-formats@3
