#!/usr/bin/env bash
# test_run_cli.sh: `cllm run` sampling flags end to end (stories260K and the
# 32k-vocab tinyllama-v0): grammar-constrained output parses (json.gbnf with
# python's json, an inline GBNF with an exact set), --json-schema output
# validates (python json + key/type/range checks; inline and @file), the
# output stays complete within -n (closing mode), the same seed gives the
# same 64 tokens on two runs and with -t 1 vs -t 2 (another seed differs),
# mirostat / --samplers / penalties run, a bad grammar exits 1 with
# "line L, column C", bad flags exit 2; and -hf REPO[:QUANT] on run, eval and
# bench against the mock hub (tests/pull/mock_hub.py).
# Usage: test_run_cli.sh CLLM_BINARY SHARED_DIR
set -u
BIN=$1
SH=$2
HERE=$(cd "$(dirname "$0")" && pwd)
S=$SH/models/real/stories260K.gguf
T=$SH/models/real/tinyllama-v0-q4_0.gguf
[ -f "$S" ] && [ -f "$T" ] || { echo "skip: ../shared absent"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 not found"; exit 77; }
tmp=$(mktemp -d)
srv_pid=
cleanup() { [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
run() { # expected_rc description args... ; stdout in $tmp/out, stderr in $tmp/err
    local want=$1 what=$2
    shift 2
    "$BIN" run "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok; else bad "$what: exit $rc, expected $want: $(tail -c 400 "$tmp/err")"; fi
}
py_check() { # description python-code (reads $tmp/out)
    if python3 -c "$2" "$tmp/out" 2>"$tmp/pyerr"; then ok; else bad "$1: $(tail -c 300 "$tmp/pyerr") output: $(head -c 300 "$tmp/out")"; fi
}

# ---- json.gbnf: output parses as JSON (both vocabularies, several seeds)
for seed in 1 2 3; do
    run 0 "json.gbnf stories seed $seed" -m "$S" -p "Once upon a time" -n 96 --seed "$seed" \
        --grammar-file "$SH/grammars/json.gbnf"
    py_check "json.gbnf stories seed $seed" 'import json,sys; json.loads(open(sys.argv[1]).read())'
done
for seed in 1 2; do
    run 0 "json.gbnf tinyllama seed $seed" -m "$T" -p "Once upon a time" -n 64 --seed "$seed" \
        --grammar-file "$SH/grammars/json.gbnf"
    py_check "json.gbnf tinyllama seed $seed" 'import json,sys; json.loads(open(sys.argv[1]).read())'
done
# a tight budget: closing mode still ends with a complete document
run 0 "json.gbnf -n 12" -m "$T" -p "Once upon a time" -n 12 --seed 5 --grammar-file "$SH/grammars/json.gbnf"
py_check "json.gbnf -n 12" 'import json,sys; json.loads(open(sys.argv[1]).read())'

# ---- inline GBNF: the output is one of the sentences
run 0 "inline grammar" -m "$S" -p "The cat" -n 16 --seed 3 --grammar 'root ::= ("yes" | "no") (", " ("yes" | "no"))?'
py_check "inline grammar" 'import re,sys; t=open(sys.argv[1]).read().strip(); assert re.fullmatch(r"(yes|no)(, (yes|no))?", t), repr(t)'
run 0 "arithmetic grammar" -m "$T" -p "One plus one" -n 40 --seed 9 --grammar-file "$SH/grammars/arithmetic.gbnf"
[ -s "$tmp/out" ] && ok || bad "arithmetic: empty output"

# ---- --json-schema: inline and @file, output validates
schema='{"type":"object","properties":{"name":{"type":"string","maxLength":12},"age":{"type":"integer","minimum":0,"maximum":120},"happy":{"type":"boolean"},"tags":{"type":"array","items":{"type":"string","maxLength":8},"maxItems":3}},"required":["name","age","happy"]}'
check_schema='import json,sys
d=json.loads(open(sys.argv[1]).read())
assert isinstance(d,dict), d
assert set(d) <= {"name","age","happy","tags"} and {"name","age","happy"} <= set(d), d
assert isinstance(d["name"],str) and len(d["name"])<=12, d
assert type(d["age"]) is int and 0<=d["age"]<=120, d
assert type(d["happy"]) is bool, d
assert "tags" not in d or (isinstance(d["tags"],list) and len(d["tags"])<=3 and all(isinstance(x,str) and len(x)<=8 for x in d["tags"])), d'
for seed in 1 2 3; do
    run 0 "json-schema stories seed $seed" -m "$S" -p "Once upon a time" -n 80 --seed "$seed" --json-schema "$schema"
    py_check "json-schema stories seed $seed" "$check_schema"
done
printf '%s' "$schema" >"$tmp/schema.json"
run 0 "json-schema @file tinyllama" -m "$T" -p "Lily is" -n 64 --seed 4 --json-schema "@$tmp/schema.json" --temp 1.2
py_check "json-schema @file tinyllama" "$check_schema"
run 1 "json-schema unsupported keyword" -m "$S" -p "x" --json-schema '{"type":"string","pattern":"a+"}'
grep -q "pattern" "$tmp/err" && ok || bad "unsupported schema message: $(cat "$tmp/err")"
run 1 "json-schema missing file" -m "$S" -p "x" --json-schema "@$tmp/nope.json"

# ---- seed determinism: 64 ids, two runs, 1 vs 2 threads; another seed differs
for M in "$S" "$T"; do
    name=$(basename "$M")
    "$BIN" run -m "$M" --tokens 1,403,407 -n 64 --seed 1234 --temp 1.0 --ignore-eos -t 1 >"$tmp/a" 2>/dev/null
    "$BIN" run -m "$M" --tokens 1,403,407 -n 64 --seed 1234 --temp 1.0 --ignore-eos -t 1 >"$tmp/b" 2>/dev/null
    "$BIN" run -m "$M" --tokens 1,403,407 -n 64 --seed 1234 --temp 1.0 --ignore-eos -t 2 >"$tmp/c" 2>/dev/null
    "$BIN" run -m "$M" --tokens 1,403,407 -n 64 --seed 4321 --temp 1.0 --ignore-eos -t 1 >"$tmp/d" 2>/dev/null
    [ "$(wc -w <"$tmp/a")" -eq 64 ] && ok || bad "$name: $(wc -w <"$tmp/a") tokens, expected 64"
    cmp -s "$tmp/a" "$tmp/b" && ok || bad "$name: same seed, different tokens"
    cmp -s "$tmp/a" "$tmp/c" && ok || bad "$name: -t 1 vs -t 2 differ: $(cat "$tmp/a") / $(cat "$tmp/c")"
    cmp -s "$tmp/a" "$tmp/d" && bad "$name: seeds 1234 and 4321 gave the same tokens" || ok
done
# text mode with a grammar is deterministic too
"$BIN" run -m "$T" -p "Once" -n 48 --seed 77 --json-schema "$schema" -t 1 >"$tmp/a" 2>/dev/null
"$BIN" run -m "$T" -p "Once" -n 48 --seed 77 --json-schema "$schema" -t 2 >"$tmp/b" 2>/dev/null
[ -s "$tmp/a" ] && cmp -s "$tmp/a" "$tmp/b" && ok || bad "constrained text differs between -t 1 and -t 2"

# ---- other samplers run and --ignore-eos gives exactly n tokens
run 0 "mirostat 2" -m "$S" --tokens 1,403 -n 32 --mirostat 2 --mirostat-ent 4 --mirostat-lr 0.2 --seed 1 --ignore-eos
[ "$(wc -w <"$tmp/out")" -eq 32 ] && ok || bad "mirostat: $(cat "$tmp/out")"
run 0 "mirostat 1" -m "$S" -p "Once" -n 16 --mirostat 1 --seed 1
run 0 "samplers + penalties" -m "$S" -p "Once" -n 32 --seed 2 --samplers "penalties;top_k;typ_p;min_p;temperature" \
    --top-k 20 --typical 0.9 --min-p 0.1 --top-p 0.9 --repeat-penalty 1.3 --repeat-last-n 32 \
    --presence-penalty 0.5 --frequency-penalty 0.5
run 0 "one-letter samplers" -m "$S" -p "Once" -n 8 --samplers kpt --seed 2
# greedy through flags equals the engine test's golden text
run 0 "greedy" -m "$S" -p "Once upon a time" -n 32 --temp 0 --kv f32
[ "$(cat "$tmp/out")" = ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw" ] && ok ||
    bad "greedy text: $(cat "$tmp/out")"
run 0 "--timing" -m "$S" -p "Once" -n 8 --timing --seed 1
grep -Eq "^timing: tokens=[0-9]+ sample_ms=[0-9.]+ decode_ms=[0-9.]+ total_ms=[0-9.]+" "$tmp/err" && ok ||
    bad "no timing line: $(cat "$tmp/err")"

# ---- bad grammars: exit 1, message with line and column
run 1 "undefined rule" -m "$S" -p "x" --grammar 'root ::= foo'
grep -Eq "line [0-9]+, column [0-9]+" "$tmp/err" && ok || bad "undefined rule message: $(cat "$tmp/err")"
printf 'root ::= "a" item\nitem ::= [a-z\n' >"$tmp/bad.gbnf"
run 1 "unterminated class" -m "$S" -p "x" --grammar-file "$tmp/bad.gbnf"
grep -q "line 2, column" "$tmp/err" && ok || bad "unterminated class message: $(cat "$tmp/err")"
run 1 "missing grammar file" -m "$S" -p "x" --grammar-file "$tmp/none.gbnf"
grep -q "none.gbnf" "$tmp/err" && ok || bad "missing file message: $(cat "$tmp/err")"

# ---- bad flags: exit 2
run 2 "unknown flag" -m "$S" -p "x" --frobnicate 1
run 2 "top-k not a number" -m "$S" -p "x" --top-k abc
run 2 "top-p out of range" -m "$S" -p "x" --top-p 1.5
run 2 "temp not a number" -m "$S" -p "x" --temp warm
run 2 "mirostat 3" -m "$S" -p "x" --mirostat 3
run 2 "missing value" -m "$S" -p "x" --seed
run 2 "two grammars" -m "$S" -p "x" --grammar 'root ::= "a"' --json-schema '{}'
run 2 "unknown sampler" -m "$S" -p "x" --samplers "top_k;bogus"
grep -q "bogus" "$tmp/err" && ok || bad "unknown sampler message: $(cat "$tmp/err")"
run 2 "no model" -p "x"
run 2 "both -m and -hf" -m "$S" -hf a/b -p "x"
run 2 "no prompt" -m "$S"

# ---- -hf against the mock hub
python3 "$HERE/pull/mock_hub.py" --shared "$SH" --port-file "$tmp/port" --log "$tmp/log" &
srv_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
if [ -s "$tmp/port" ]; then
    export HF_ENDPOINT="http://127.0.0.1:$(cat "$tmp/port")"
    export CLLM_CACHE="$tmp/cache"
    unset HF_TOKEN CLLM_OFFLINE HF_HUB_OFFLINE
    "$BIN" run -m "$S" -p "Once upon a time" -n 16 --temp 0 >"$tmp/ref" 2>/dev/null
    run 0 "run -hf" -hf cllm-test/noquant -p "Once upon a time" -n 16 --temp 0
    cmp -s "$tmp/out" "$tmp/ref" && ok || bad "run -hf output differs: $(cat "$tmp/out") / $(cat "$tmp/ref")"
    [ -f "$CLLM_CACHE/cllm-test/noquant/stories260K-F32.gguf" ] && ok || bad "run -hf: nothing in the cache"
    ref=$("$BIN" eval -m "$SH/models/synthetic/llama-q8_0.gguf" --tokens 1,2,3 --greedy 4 2>/dev/null)
    got=$("$BIN" eval -hf cllm-test/synthetic:q8_0 --tokens 1,2,3 --greedy 4 2>"$tmp/err")
    [ -n "$ref" ] && [ "$got" = "$ref" ] && ok || bad "eval -hf: '$got' vs '$ref': $(cat "$tmp/err")"
    "$BIN" bench -hf cllm-test/synthetic:Q8_0 -p 8 -n 4 -r 1 -t 1 -o json >"$tmp/out" 2>"$tmp/err"
    py_check "bench -hf" 'import json,sys; d=json.load(open(sys.argv[1])); assert d["model"]=="llama-Q8_0.gguf", d; assert [r["test"] for r in d["results"]]==["pp8","tg4"], d'
    run 1 "run -hf missing repo" -hf cllm-test/nope -p "x"
    grep -q "cllm-test/nope" "$tmp/err" && ok || bad "missing repo message: $(cat "$tmp/err")"
    "$BIN" bench -hf cllm-test/noquant:Q2_K -p 8 -n 0 >/dev/null 2>&1
    [ $? -eq 1 ] && ok || bad "bench -hf missing quant: not exit 1"
else
    bad "mock hub did not start"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
