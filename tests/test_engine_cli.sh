#!/usr/bin/env bash
# test_engine_cli.sh: the engine commands end to end on stories260K:
# eval --logits (size), eval --greedy (the golden ids), run --temp 0 (the
# golden text), bench (md and json). Args: cllm binary, shared dir.
set -u
CLLM=$1
SH=$2
[ -d "$SH" ] || { echo "SKIP: $SH not found"; exit 77; }
M=$SH/models/real/stories260K.gguf
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ids="1,493,115,443,84,209,141,118"
"$CLLM" eval -m "$M" --tokens "$ids" --logits "$tmp/l.f32" -t 2 2>/dev/null || { echo "FAIL: eval --logits"; fail=1; }
size=$(stat -c %s "$tmp/l.f32" 2>/dev/null || echo 0)
[ "$size" = $((8 * 512 * 4)) ] || { echo "FAIL: logits size $size"; fail=1; }

want="432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 337 410 408 419 292 411 322 265 282 295 433 426 385 328 432 358 394"
got=$("$CLLM" eval -m "$M" --tokens 1,403,407,261,378 --greedy 32 2>/dev/null)
[ "$got" = "$want" ] || { echo "FAIL: greedy ids: $got"; fail=1; }

text=$("$CLLM" run -m "$M" -p "Once upon a time" -n 32 --temp 0 --kv f32 2>/dev/null)
[ "$text" = ", there was a little girl named Lily. She loved to play outside in the park. One day, she saw" ] ||
  { echo "FAIL: run text: '$text'"; fail=1; }
ids_out=$("$CLLM" run -m "$M" --tokens 1,403,407,261,378 -n 4 --temp 0 2>/dev/null)
[ "$ids_out" = "432 383 286 261" ] || { echo "FAIL: run --tokens: '$ids_out'"; fail=1; }

"$CLLM" eval -m "$M" --tokens 1,99999 --greedy 1 >/dev/null 2>"$tmp/err" && { echo "FAIL: bad id accepted"; fail=1; }
grep -q "99999" "$tmp/err" || { echo "FAIL: bad id message: $(cat "$tmp/err")"; fail=1; }
"$CLLM" eval -m /nonexistent.gguf --tokens 1 --greedy 1 >/dev/null 2>&1 && { echo "FAIL: missing model accepted"; fail=1; }
"$CLLM" eval -m "$M" --tokens 1,x --greedy 1 >/dev/null 2>&1; [ $? = 2 ] || { echo "FAIL: bad list not a usage error"; fail=1; }

md=$("$CLLM" bench -m "$M" -p 16 -n 8 -r 2 -t 2 2>/dev/null)
echo "$md" | grep -q "| pp16 |" && echo "$md" | grep -q "| tg8 |" || { echo "FAIL: bench md: $md"; fail=1; }
js=$("$CLLM" bench -m "$M" -p 16 -n 8 -r 2 -t 2 -o json 2>/dev/null)
echo "$js" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert [r["test"] for r in d["results"]]==["pp16","tg8"]; assert all(r["tps_mean"]>0 for r in d["results"])' ||
  { echo "FAIL: bench json: $js"; fail=1; }
[ $fail = 0 ] && echo "engine CLI: all checks passed"
exit $fail
