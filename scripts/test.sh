#!/usr/bin/env bash
# test.sh: build cllm (warnings as errors) and run the whole test suite.
# Usage: scripts/test.sh [build-dir] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# ajv (npm) validates the JSON-schema-constrained outputs in the tests.
bash scripts/install-ajv.sh
build=${1:-build}
shift || true
cmake -S . -B "$build" -DCLLM_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
