#!/usr/bin/env bash
# test_golden_scalar.sh: the golden logits/greedy test with every kernel forced
# to the scalar reference table (CLLM_CPU=scalar). Args: cllm binary, shared dir.
set -u
bin_dir=$(dirname "$1")
if [ ! -d "$2" ]; then echo "SKIP: $2 not found"; exit 77; fi
if [ ! -x "$bin_dir/test_golden" ]; then echo "test_golden not built next to $1"; exit 1; fi
CLLM_CPU=scalar CLLM_SHARED="$2" exec "$bin_dir/test_golden"
