#!/usr/bin/env bash
# fuzz.sh SECONDS: build the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang
# in build-fuzz (-DCLLM_FUZZ=ON: ASan + UBSan + coverage), seed a corpus per
# target in build-fuzz/corpus/<target>, run each target for SECONDS, and exit
# non-zero if any of them crashes, leaks, hangs or trips a sanitizer.
# Crash inputs are kept in build-fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
build=build-fuzz
shared=${CLLM_SHARED:-../shared}

CC=${CC_FUZZ:-clang} CXX=${CXX_FUZZ:-clang++} \
  cmake -S . -B "$build" -DCLLM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER="${CC_FUZZ:-clang}" -DCMAKE_CXX_COMPILER="${CXX_FUZZ:-clang++}" >/dev/null
targets=()
for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
cmake --build "$build" -j2 --target "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for t in "${targets[@]}"; do
  corpus=$build/corpus/$t
  artifacts=$build/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  # Seeds: the target's generator when it has one, plus small shared files.
  gen=tests/fuzz/${t#fuzz_}_seeds.py
  [ -f "$gen" ] && python3 "$gen" "$corpus" >/dev/null
  if [ "$t" = fuzz_tokenizer ] && [ -d "$shared/vocab" ]; then
    export CLLM_FUZZ_VOCABS="$shared/vocab/ggml-vocab-qwen3.gguf:$shared/vocab/ggml-vocab-llama-spm.gguf:$shared/vocab/ggml-vocab-bert-bge.gguf:$shared/vocab/ggml-vocab-gemma3.gguf:$shared/vocab/ggml-vocab-phi-3.gguf"
    printf 'Hello, world! <|im_start|>user\n\t  x' >"$corpus/seed_hello"
  fi
  if [ "$t" = fuzz_gguf ] && [ -d "$shared" ]; then
    find "$shared/models" "$shared/vocab" -name '*.gguf' -size -2M -exec cp -f {} "$corpus/" \; 2>/dev/null || true
  fi
  echo "=== $t: ${secs}s, corpus $(ls "$corpus" | wc -l) files ==="
  # -max_len: big enough for whole headers of the small shared files.
  if ! "$build/$t" "$corpus" -max_total_time="$secs" -max_len=65536 -timeout=20 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts/" -print_final_stats=1 2>"$build/$t.log"; then
    echo "FUZZ FAILURE in $t (log: $build/$t.log, inputs: $artifacts/):"
    grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$build/$t.log" | head -20 || true
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/$t.log" || true
  fi
done
exit $status
