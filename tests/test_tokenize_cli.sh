#!/usr/bin/env bash
# test_tokenize_cli.sh: `cllm tokenize` / `cllm detokenize` end to end with the
# vocab-only GGUFs of ../shared/vocab: exit codes, the --ids output of every
# shared case read with -f (the file's bytes exactly: newlines, tabs, empty
# text) against the .out ids, BOS with and without --no-special,
# --parse-special, --json validity, file round trips through detokenize, and
# the load error for an unknown tokenizer.ggml.pre.
# Usage: bash tests/test_tokenize_cli.sh PATH/TO/cllm SHARED_DIR
set -u
CLLM=${1:?usage: test_tokenize_cli.sh CLLM SHARED}
SHARED=${2:?usage: test_tokenize_cli.sh CLLM SHARED}
V=$SHARED/vocab
if [ ! -d "$V" ]; then
  echo "SKIP: $V not found (vocab-only GGUFs)"
  exit 77
fi
if ! command -v python3 >/dev/null; then
  echo "SKIP: python3 is needed to split the .inp files"
  exit 77
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
expect_rc() {
  local want=$1; shift
  "$@" >"$TMP/out" 2>"$TMP/err"
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else bad "exit $rc (want $want): $*"; head -3 "$TMP/err"; fi
}
has() { if grep -qF -- "$2" "$1"; then ok; else bad "$(basename "$1") lacks '$2'"; cat "$1" | head -3; fi; }
same() { if [ "$1" == "$2" ]; then ok; else bad "$3: got '$1' want '$2'"; fi; }

Q=$V/ggml-vocab-qwen3.gguf
L=$V/ggml-vocab-llama-spm.gguf

# Usage and load errors.
expect_rc 2 "$CLLM" tokenize
expect_rc 2 "$CLLM" tokenize -m "$Q"
expect_rc 2 "$CLLM" tokenize -m "$Q" --bogus hi
expect_rc 2 "$CLLM" tokenize -m "$Q" a b
expect_rc 2 "$CLLM" detokenize 1 2 3
expect_rc 2 "$CLLM" detokenize -m "$Q" 1 x2
expect_rc 1 "$CLLM" tokenize -m "$TMP/nope.gguf" hi
expect_rc 1 "$CLLM" tokenize -m "$Q" -f "$TMP/nope.txt"
expect_rc 1 "$CLLM" detokenize -m "$Q" 99999999
has "$TMP/err" "out of range"
expect_rc 0 "$CLLM" tokenize --help
has "$TMP/out" "--parse-special"

# Shared cases through -f, against the .out ids: the whitespace-heavy ones
# (empty text, spaces, tabs, newline runs, the long mixed text) of every
# vocab; test_tokenizer_vocab checks all cases through the library.
python3 - "$V" "$TMP/cases" <<'EOF'
import os, sys
v, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
sep = b"\n__ggml_vocab_test__\n"
for f in sorted(os.listdir(v)):
    if not f.endswith(".gguf"):
        continue
    data = open(os.path.join(v, f + ".inp"), "rb").read()
    parts = data.split(sep)
    if parts and parts[-1] == b"" and data.endswith(sep):
        parts = parts[:-1]
    lines = open(os.path.join(v, f + ".out"), "rb").read().split(b"\n")
    for i, p in enumerate(parts):
        if i not in (2, 3, 5, 6, 7, 9, 10, 28, 29, 30, 45):
            continue
        open(os.path.join(out, "%s.%02d.txt" % (f, i)), "wb").write(p)
        open(os.path.join(out, "%s.%02d.ids" % (f, i)), "wb").write(b" ".join(lines[i].split()) + b"\n")
EOF
ncases=0
for t in "$TMP"/cases/*.txt; do
  base=${t%.txt}
  vocab=$(basename "$base"); vocab=${vocab%.*}
  got=$("$CLLM" tokenize -m "$V/$vocab" --ids --no-special -f "$t")
  want=$(cat "$base.ids")
  ncases=$((ncases + 1))
  same "$got" "$want" "$(basename "$t")"
done
echo "cli cases: $ncases"

# BOS: llama-spm adds <s> (1) unless --no-special; qwen3 adds none.
same "$("$CLLM" tokenize -m "$L" --ids "Hello world")" "1 15043 3186" "llama-spm BOS"
same "$("$CLLM" tokenize -m "$L" --ids --no-special "Hello world")" "15043 3186" "llama-spm no BOS"
same "$("$CLLM" tokenize -m "$Q" --ids "Hello world")" "9707 1879" "qwen3 no BOS"
# Special tokens: plain text unless --parse-special.
same "$("$CLLM" tokenize -m "$Q" --ids --parse-special "<|im_start|>user")" "151644 872" "parse-special"
same "$("$CLLM" tokenize -m "$Q" --ids "<|im_start|>user")" "27 91 318 4906 91 29 872" "no parse-special"
# User-defined tokens are matched even without --parse-special.
same "$("$CLLM" tokenize -m "$Q" --ids "<think>x")" "151667 87" "user-defined"
# A text that starts with '-'.
ids=$("$CLLM" tokenize -m "$Q" --ids -- "-x y")
# shellcheck disable=SC2086
same "$("$CLLM" detokenize -m "$Q" $ids)" "-x y" "-- TEXT"
# JSON.
"$CLLM" tokenize -m "$L" --json "Hi 🦙" >"$TMP/j.json"
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["ids"])==len(d["pieces"])>0' "$TMP/j.json"; then
  ok; else bad "--json output is not valid JSON"; cat "$TMP/j.json"; fi
# Default and --pieces output.
"$CLLM" tokenize -m "$Q" "Hello world" >"$TMP/d.txt"
has "$TMP/d.txt" "9707 -> 'Hello'"
"$CLLM" tokenize -m "$Q" --pieces "a\"b" >"$TMP/p.txt"
has "$TMP/p.txt" "'\\\"'"

# Round trips of a file with newlines, tabs, CJK, emoji and trailing spaces.
printf 'int main(void) {\n\treturn 0; // ok\n}\n\n你好，世界！ 🦙🚀  \n  end  ' >"$TMP/rt.txt"
for m in "$Q" "$L" "$V/ggml-vocab-gemma3.gguf" "$V/ggml-vocab-llama3.gguf" "$V/ggml-vocab-phi-3.gguf"; do
  ids=$("$CLLM" tokenize -m "$m" --ids -f "$TMP/rt.txt")
  # shellcheck disable=SC2086
  "$CLLM" detokenize -m "$m" --remove-special $ids >"$TMP/rt.out"
  if cmp -s "$TMP/rt.txt" "$TMP/rt.out"; then ok; else bad "round trip through $(basename "$m")"; fi
done
# --special renders control tokens.
same "$("$CLLM" detokenize -m "$L" --special 1 15043 2)" "<s>Hello</s>" "detok --special"
same "$("$CLLM" detokenize -m "$L" "1, 15043, 2")" "Hello" "detok plain"

# An unknown tokenizer.ggml.pre is a load error that names it.
python3 - "$V/ggml-vocab-gpt-2.gguf" "$TMP/badpre.gguf" <<'EOF'
import sys
d = open(sys.argv[1], "rb").read()
k = d.index(b"tokenizer.ggml.pre")
i = d.index(b"gpt-2", k)
open(sys.argv[2], "wb").write(d[:i] + b"gpt-9" + d[i + 5:])
EOF
expect_rc 1 "$CLLM" tokenize -m "$TMP/badpre.gguf" hi
has "$TMP/err" "gpt-9"
# So is an unknown tokenizer.ggml.model.
python3 - "$V/ggml-vocab-gpt-2.gguf" "$TMP/badmodel.gguf" <<'EOF'
import sys
d = open(sys.argv[1], "rb").read()
k = d.index(b"tokenizer.ggml.model")
i = d.index(b"gpt2", k + 20)
open(sys.argv[2], "wb").write(d[:i] + b"xyz9" + d[i + 4:])
EOF
expect_rc 1 "$CLLM" detokenize -m "$TMP/badmodel.gguf" 1
has "$TMP/err" "xyz9"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
