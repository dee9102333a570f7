#!/usr/bin/env bash
# test_perplexity.sh: `cllm perplexity` against ../shared/golden/perplexity:
# both models with an F32 KV cache, every running value and the final
# estimate against per_chunk_f32kv (|dPPL|/PPL <= 1e-3 for the F32 model,
# 1e-2 for the quantized one, as golden/README.md says; the final stderr
# within 1%), plus 20 chunks of stories260K with the default F16 cache
# against the reference's default run (within 1%); -b 48 equals -b 128.
# Also usage errors.
# Usage: test_perplexity.sh CLLM_BINARY SHARED_DIR
BIN=$1
SHARED=$2
IDX="$SHARED/golden/perplexity/index.json"
if [ ! -f "$IDX" ]; then
    echo "skip: $IDX not found (../shared absent)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

"$BIN" perplexity >/dev/null 2>&1; [ $? -eq 2 ] || bad "no arguments: expected exit 2"
"$BIN" perplexity -m x -f y -c 127 >/dev/null 2>&1; [ $? -eq 2 ] || bad "odd -c: expected exit 2"
"$BIN" perplexity -m /nonexistent.gguf -f "$SHARED/golden/perplexity/stories.txt" >/dev/null 2>&1
[ $? -eq 1 ] || bad "missing model: expected exit 1"

check() { # model tolerance extra-args... ; compares with python3
    local model=$1 tol=$2 out="$tmp/$(basename "$1").txt"
    shift 2
    if ! "$BIN" perplexity -m "$SHARED/$model" -f "$SHARED/golden/perplexity/stories.txt" -c 128 -b 128 -t 1 \
        "$@" >"$out" 2>"$out.err"; then
        bad "$model: perplexity failed: $(tail -n 3 "$out.err")"
        return
    fi
    python3 - "$IDX" "$model" "$tol" "$out" "$@" <<'PY' || fail=$((fail + 1))
import json, re, sys
idx, model, tol, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
args = sys.argv[5:]
e = next(x for x in json.load(open(idx)) if x["model"] == model)
text = open(out).read()
running = [float(v) for v in re.findall(r"\[\d+\]([0-9.]+),", text)]
m = re.search(r"Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)", text)
final, err = float(m.group(1)), float(m.group(2))
if "f32" in args:
    ref = e["per_chunk_f32kv"]
    want_run, want_final = ref["running_ppl"], ref["final_ppl"]
    want_err = e["reference_f32kv"]["final_ppl_stderr"]
else:
    ref = e["reference_default"]
    want_run = ref["running_ppl"][:len(running)]
    want_final, want_err = want_run[-1], None
ok = len(running) == len(want_run)
worst = max(abs(a - b) / b for a, b in zip(running, want_run)) if ok else float("inf")
rel = abs(running[-1] - want_final) / want_final
print(f"{model} ({' '.join(args)}): {len(running)} chunks, final {running[-1]:.4f} vs {want_final:.4f} "
      f"(rel {rel:.2e}), worst running rel {worst:.2e}, tolerance {tol:g}" +
      (f", stderr {err:.5f} vs {want_err:.5f}" if want_err else ""))
if not ok: print(f"FAIL: {len(running)} running values, want {len(want_run)}")
if worst > tol or rel > tol: print("FAIL: outside tolerance"); sys.exit(1)
if want_err and abs(err - want_err) / want_err > 0.01: print("FAIL: stderr"); sys.exit(1)
if "f32" in args and "--chunks" not in args and abs(final - want_final) / want_final > tol:
    print("FAIL: final estimate"); sys.exit(1)
sys.exit(0 if ok else 1)
PY
}
check models/real/stories260K.gguf 1e-3 --kv-type f32
check models/real/tinyllama-v0-q4_0.gguf 1e-2 --kv-type f32
check models/real/stories260K.gguf 1e-2 --chunks 20
# decoding a chunk in several batches (-b < -c) gives the same numbers
a=$("$BIN" perplexity -m "$SHARED/models/real/stories260K.gguf" -f "$SHARED/golden/perplexity/stories.txt" -c 128 -b 128 \
    -t 1 --kv-type f32 --chunks 5 2>/dev/null | tail -n 1)
b=$("$BIN" perplexity -m "$SHARED/models/real/stories260K.gguf" -f "$SHARED/golden/perplexity/stories.txt" -c 128 -b 48 \
    -t 1 --kv-type f32 --chunks 5 2>/dev/null | tail -n 1)
[ -n "$a" ] && [ "$a" = "$b" ] || bad "-b 48 gives '$b', -b 128 '$a'"
[ "$fail" -eq 0 ] && echo "all perplexity checks passed"
[ "$fail" -eq 0 ]
