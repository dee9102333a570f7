#!/usr/bin/env bash
# test_gguf_cli.sh: `cllm gguf info/validate/tensor` end to end: exit codes,
# output content, JSON validity, and dequantized tensors compared bit for bit
# with ../shared/golden/dequant.
# Usage: bash tests/test_gguf_cli.sh PATH/TO/cllm SHARED_DIR
set -u
CLLM=${1:?usage: test_gguf_cli.sh CLLM SHARED}
SHARED=${2:?usage: test_gguf_cli.sh CLLM SHARED}
if [ ! -d "$SHARED/models" ]; then
  echo "SKIP: $SHARED not found (shared GGUF files)"
  exit 77
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect_rc WANT CMD...: run CMD, stdout -> $TMP/out, stderr -> $TMP/err.
expect_rc() {
  local want=$1; shift
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else bad "exit $rc (want $want): $*"; head -3 "$TMP/err"; fi
}
# has FILE TEXT: FILE contains TEXT (fixed string).
has() {
  if grep -qF -- "$2" "$1"; then ok; else bad "$(basename "$1") lacks '$2'"; fi
}

S260=$SHARED/models/real/stories260K.gguf

# Usage errors.
expect_rc 2 "$CLLM" gguf
expect_rc 2 "$CLLM" gguf frobnicate "$S260"
has "$TMP/err" "unknown sub-command"
expect_rc 2 "$CLLM" gguf info
expect_rc 2 "$CLLM" gguf info "$S260" --bogus
expect_rc 2 "$CLLM" gguf tensor "$S260" output_norm.weight
expect_rc 0 "$CLLM" gguf --help
has "$TMP/out" "cllm gguf validate FILE"

# info (text).
expect_rc 0 "$CLLM" gguf info "$S260"
has "$TMP/out" "GGUF v3, alignment 32, data offset 14176"
has "$TMP/out" "metadata (19 keys):"
has "$TMP/out" '[512 strings: "<unk>", "<s>", "</s>", ...]'
has "$TMP/out" "llama.embedding_length"
has "$TMP/out" "tensors (48):"
has "$TMP/out" "blk.0.ffn_down.weight"
has "$TMP/out" "totals: 48 tensors, 292800 parameters, 1171200 bytes of tensor data, 32.00 bits per weight"
expect_rc 0 "$CLLM" gguf info "$SHARED/models/synthetic/llama-q4_0.gguf"
has "$TMP/out" "q4_0"
expect_rc 0 "$CLLM" gguf info "$SHARED/models/synthetic/llama-q4_k_m-mix.gguf"
has "$TMP/out" "types: f32 5 (0.1%) q4_K 13 (79.5%) q6_K 3 (20.4%)"
has "$TMP/out" "4.95 bits per weight"
expect_rc 0 "$CLLM" gguf info "$SHARED/vocab/ggml-vocab-gemma3.gguf"
has "$TMP/out" '[262208 strings: "<pad>", "<eos>", "<bos>", ...]'
expect_rc 0 "$CLLM" gguf info --full "$S260"
has "$TMP/out" '"<0x0A>"'

# info --json: valid JSON with the right numbers.
expect_rc 0 "$CLLM" gguf info --json "$S260"
if command -v python3 >/dev/null; then
  if python3 - "$TMP/out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 3 and d["alignment"] == 32 and d["data_offset"] == 14176
assert len(d["metadata"]) == 19 and len(d["tensors"]) == 48
tok = [m for m in d["metadata"] if m["key"] == "tokenizer.ggml.tokens"][0]
assert tok["count"] == 512 and tok["element_type"] == "string" and tok["value"][:3] == ["<unk>", "<s>", "</s>"]
t = [t for t in d["tensors"] if t["name"] == "blk.0.ffn_down.weight"][0]
assert t["type"] == "f32" and t["shape"] == [172, 64] and t["bytes"] == 44032
assert d["totals"]["parameters"] == 292800 and abs(d["totals"]["bits_per_weight"] - 32.0) < 1e-9
EOF
  then ok; else bad "info --json content"; fi
  # Every vocab file gives valid JSON (token strings may be arbitrary bytes).
  for f in "$SHARED"/vocab/*.gguf; do
    if "$CLLM" gguf info --json --full "$f" | python3 -c 'import json,sys; json.load(sys.stdin)'; then ok
    else bad "invalid JSON for $f"; fi
  done
fi

# validate.
for f in "$SHARED"/models/real/*.gguf "$SHARED"/models/synthetic/*.gguf "$SHARED"/vocab/*.gguf; do
  expect_rc 0 "$CLLM" gguf validate "$f"
  has "$TMP/out" ": valid"
done
expect_rc 1 "$CLLM" gguf validate "$SHARED/models/bad/tinyllamas-stories-260k-f32.gguf"
has "$TMP/out" "invalid"
has "$TMP/err" "GGUF v1 is not supported"
expect_rc 1 "$CLLM" gguf validate "$SHARED/models/bad/tinyllamas-stories-260k-q8_0.gguf"
has "$TMP/err" "ne[0]=172 is not a multiple of the q8_0 block size 32"
expect_rc 1 "$CLLM" gguf validate "$TMP/missing.gguf"
has "$TMP/err" "No such file"
head -c 1000 "$S260" >"$TMP/trunc.gguf"
expect_rc 1 "$CLLM" gguf validate "$TMP/trunc.gguf"
has "$TMP/err" "n_tensors 48 needs at least 48x33 bytes but only 976 are left"
expect_rc 1 "$CLLM" gguf info "$TMP/trunc.gguf"
# A valid file whose tensors are not packed in file order: valid for cllm,
# with a note that llama.cpp would refuse it.
printf 'GGUF\3\0\0\0\2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0' >"$TMP/rev.gguf"
printf '\1\0\0\0\0\0\0\0a\1\0\0\0\10\0\0\0\0\0\0\0\0\0\0\0\40\0\0\0\0\0\0\0' >>"$TMP/rev.gguf"
printf '\1\0\0\0\0\0\0\0b\1\0\0\0\10\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0' >>"$TMP/rev.gguf"
head -c $((96 - $(wc -c <"$TMP/rev.gguf") + 64)) /dev/zero >>"$TMP/rev.gguf"
expect_rc 0 "$CLLM" gguf validate "$TMP/rev.gguf"
has "$TMP/out" "note: tensor 'a' has offset 32, llama.cpp expects 0"

# tensor: an F32 tensor equals its raw bytes in the file.
expect_rc 0 "$CLLM" gguf tensor "$S260" blk.0.ffn_down.weight -o "$TMP/fd.f32"
off=$("$CLLM" gguf info --json "$S260" | python3 -c 'import json,sys; print([t["file_offset"] for t in json.load(sys.stdin)["tensors"] if t["name"]=="blk.0.ffn_down.weight"][0])' 2>/dev/null)
if [ -n "$off" ] && cmp -s "$TMP/fd.f32" <(tail -c +$((off + 1)) "$S260" | head -c 44032); then ok; else bad "f32 tensor bytes"; fi
expect_rc 1 "$CLLM" gguf tensor "$S260" no.such.tensor -o "$TMP/x.f32"
has "$TMP/err" "no tensor named 'no.such.tensor'"
expect_rc 1 "$CLLM" gguf tensor "$S260" output_norm.weight -o "$TMP/nodir/x.f32"
expect_rc 0 "$CLLM" gguf tensor "$S260" output_norm.weight -o -
[ "$(wc -c <"$TMP/out")" -eq 256 ] && ok || bad "stdout tensor size"

# tensor vs golden dequantized values (bit-exact), for every golden entry.
if command -v python3 >/dev/null; then
  python3 - "$SHARED/golden/dequant/index.json" >"$TMP/golden.txt" <<'EOF'
import json, sys
for e in json.load(open(sys.argv[1])):
    print(e["model"], e["tensor"], e["type"], e["f32"])
EOF
  n=0
  while read -r model tensor type f32; do
    n=$((n + 1))
    if "$CLLM" gguf tensor "$SHARED/$model" "$tensor" -o "$TMP/g.f32" 2>"$TMP/err"; then
      if cmp -s "$TMP/g.f32" "$SHARED/$f32"; then ok; else bad "$model $tensor ($type) differs from golden"; fi
    else
      bad "$model $tensor ($type): $(cat "$TMP/err")"
    fi
  done <"$TMP/golden.txt"
  [ "$n" -ge 15 ] && ok || bad "only $n golden entries"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
