#!/usr/bin/env bash
# test_quantize_cli.sh: `cllm quantize` end to end. Quantizes the synthetic F32
# llama to Q8_0 and Q4_0 and compares with llama-quantize's files (whole-file
# cmp; on a difference, the differing tensors are listed via `cllm gguf
# tensor`), checks usage errors, the requantize guard, and that the thread
# count does not change the output.
# Usage: test_quantize_cli.sh CLLM_BINARY SHARED_DIR
BIN=$1
SHARED=$2
SYN="$SHARED/models/synthetic"
if [ ! -f "$SYN/llama-f32.gguf" ]; then
    echo "skip: $SYN/llama-f32.gguf not found (../shared absent)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

expect_rc() { # expected_rc description cmd...
    local want=$1 what=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok; else bad "$what: exit $rc, expected $want ($(head -c 300 "$tmp/err"))"; fi
}

# usage errors and bad inputs
expect_rc 2 "no arguments" "$BIN" quantize
expect_rc 2 "unknown type" "$BIN" quantize "$SYN/llama-f32.gguf" "$tmp/x.gguf" q9_9
expect_rc 2 "activation type refused" "$BIN" quantize "$SYN/llama-f32.gguf" "$tmp/x.gguf" q8_K
expect_rc 2 "bad thread count" "$BIN" quantize "$SYN/llama-f32.gguf" "$tmp/x.gguf" q8_0 -t 0
expect_rc 0 "--help" "$BIN" quantize --help
expect_rc 1 "missing input" "$BIN" quantize "$tmp/missing.gguf" "$tmp/x.gguf" q8_0
[ ! -e "$tmp/x.gguf" ] && ok || bad "an output file was left after a failure"
expect_rc 1 "bad GGUF input" "$BIN" quantize "$SHARED/models/bad/tinyllamas-stories-260k-f32.gguf" "$tmp/x.gguf" q8_0
[ ! -e "$tmp/x.gguf" ] && ok || bad "an output file was left after a failure"

for t in q8_0 q4_0; do
    ref="$SYN/llama-$t.gguf"
    if ! "$BIN" quantize "$SYN/llama-f32.gguf" "$tmp/$t.gguf" "$t" --pure -t 2 2>"$tmp/$t.log"; then
        bad "quantize to $t failed: $(tail -n 3 "$tmp/$t.log")"
        continue
    fi
    ok
    nprog=$(grep -c '^\[ *[0-9]*/ *21\]' "$tmp/$t.log")
    [ "$nprog" -eq 21 ] && ok || bad "$t: expected 21 progress lines, got $nprog"
    if cmp -s "$tmp/$t.gguf" "$ref"; then
        echo "$t: output is byte-identical to llama-quantize's $(basename "$ref") ($(stat -c %s "$ref") bytes)"
        ok
        continue
    fi
    # not identical: report which tensors differ (dequantized via `cllm gguf tensor`)
    bad "$t: output differs from $(basename "$ref"): $(cmp "$tmp/$t.gguf" "$ref" | head -n 1)"
    for name in $(sed -n 's/^\[ *[0-9]*\/ *[0-9]*\] \([^ ]*\) .*/\1/p' "$tmp/$t.log"); do
        if "$BIN" gguf tensor "$tmp/$t.gguf" "$name" -o "$tmp/a.f32" >/dev/null 2>&1 &&
            "$BIN" gguf tensor "$ref" "$name" -o "$tmp/b.f32" >/dev/null 2>&1; then
            cmp -s "$tmp/a.f32" "$tmp/b.f32" || echo "  $t: tensor $name differs from llama.cpp's"
        else
            echo "  $t: cannot extract $name for comparison"
        fi
    done
done

# thread count does not change the bytes
if "$BIN" quantize "$SYN/llama-f32.gguf" "$tmp/q4_0_t1.gguf" q4_0 -t 1 2>/dev/null &&
    "$BIN" quantize "$SYN/llama-f32.gguf" "$tmp/q4_0_t5.gguf" q4_0 -t 5 2>/dev/null; then
    cmp -s "$tmp/q4_0_t1.gguf" "$tmp/q4_0_t5.gguf" && ok || bad "-t 1 and -t 5 outputs differ"
else
    bad "quantize with -t 1 / -t 5 failed"
fi

# an already-quantized input is refused unless --allow-requantize
expect_rc 1 "requantize refused" "$BIN" quantize "$SYN/llama-q8_0.gguf" "$tmp/rq.gguf" q4_0
grep -q "already quantized" "$tmp/err" && ok || bad "requantize message: $(cat "$tmp/err")"
[ ! -e "$tmp/rq.gguf" ] && ok || bad "requantize refusal left an output file"
expect_rc 0 "--allow-requantize" "$BIN" quantize "$SYN/llama-q8_0.gguf" "$tmp/rq.gguf" q4_0 --allow-requantize
# same-type "requantize" copies tensors unchanged: the file comes out identical
expect_rc 0 "q8_0 -> q8_0 copies" "$BIN" quantize "$SYN/llama-q8_0.gguf" "$tmp/same.gguf" q8_0
cmp -s "$tmp/same.gguf" "$SYN/llama-q8_0.gguf" && ok || bad "q8_0 -> q8_0 changed the file"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
