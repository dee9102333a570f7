#!/usr/bin/env bash
# test_embed.sh: `cllm embed` on stories260K (F32). The logits are linear in
# the final-normed hidden state (logits = output.weight x h), so each pooled
# embedding is checked through `cllm eval`'s all-position logits of the same
# tokens: output.weight x last == logits of the last position, x cls ==
# logits of position 0, x mean == the mean of all rows (max rel. error
# 1e-4 of max|logit|; both with the default F16 KV cache). Also: --normalize gives unit norm, cls is the same for
# every text (a causal model's BOS state), JSON shape, usage errors.
# Usage: test_embed.sh CLLM_BINARY SHARED_DIR
BIN=$1
SHARED=$2
M="$SHARED/models/real/stories260K.gguf"
[ -f "$M" ] || { echo "skip: $M not found (../shared absent)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

"$BIN" embed >/dev/null 2>&1; [ $? -eq 2 ] || bad "no arguments: expected exit 2"
"$BIN" embed -m "$M" --pooling max x >/dev/null 2>&1; [ $? -eq 2 ] || bad "bad pooling: expected exit 2"
"$BIN" embed -m /nonexistent.gguf x >/dev/null 2>&1; [ $? -eq 1 ] || bad "missing model: expected exit 1"

TEXT="Once upon a time"
for p in last cls mean; do
    "$BIN" embed -m "$M" -t 1 --pooling $p "$TEXT" "The cat sat." >"$tmp/$p.json" || bad "embed --pooling $p failed"
done
"$BIN" embed -m "$M" -t 1 --normalize "$TEXT" >"$tmp/norm.json" || bad "embed --normalize failed"
"$BIN" eval -m "$M" -t 1 --kv f16 --tokens 1,403,407,261,378 --logits "$tmp/logits.f32" >/dev/null || bad "eval failed"
"$BIN" gguf tensor "$M" output.weight -o "$tmp/w.f32" >/dev/null || bad "gguf tensor failed"

python3 - "$tmp" <<'PY' || fail=$((fail + 1))
import json, struct, sys, math
d = sys.argv[1]
def f32(path):
    b = open(path, "rb").read()
    return list(struct.unpack(f"<{len(b)//4}f", b))
W = f32(f"{d}/w.f32")            # 512 rows of 64
L = f32(f"{d}/logits.f32")       # 5 rows of 512
E, V, N = 64, 512, 5
rows = [L[i*V:(i+1)*V] for i in range(N)]
want = {"last": rows[-1], "cls": rows[0], "mean": [sum(r[j] for r in rows) / N for j in range(V)]}
ok = True
for p in ("last", "cls", "mean"):
    j = json.load(open(f"{d}/{p}.json"))
    assert j["pooling"] == p and j["n_embd"] == E and len(j["data"]) == 2, j.keys()
    item = j["data"][0]
    assert item["n_tokens"] == N and item["text"] == "Once upon a time"
    e = item["embedding"]
    got = [sum(W[v*E + k] * e[k] for k in range(E)) for v in range(V)]
    scale = max(abs(x) for x in want[p])
    err = max(abs(a - b) for a, b in zip(got, want[p])) / scale
    print(f"{p}: max|W.e - logits| = {err:.2e} x max|logit|")
    if err > 1e-4:
        print(f"FAIL: {p} pooling does not match the logits"); ok = False
    if p == "cls":
        other = j["data"][1]["embedding"]
        if max(abs(a - b) for a, b in zip(e, other)) > 1e-6:
            print("FAIL: cls differs between texts"); ok = False
n = json.load(open(f"{d}/norm.json"))
e = n["data"][0]["embedding"]
norm = math.sqrt(sum(x * x for x in e))
print(f"normalized: |e| = {norm:.7f}, pooling {n['pooling']}")
if abs(norm - 1) > 1e-5 or not n["normalized"] or n["pooling"] != "last":
    print("FAIL: normalize"); ok = False
sys.exit(0 if ok else 1)
PY
[ "$fail" -eq 0 ] && echo "all embed checks passed"
[ "$fail" -eq 0 ]
