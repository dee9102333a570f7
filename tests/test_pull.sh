#!/usr/bin/env bash
# test_pull.sh: `cllm pull` against a local mock of the Hugging Face hub
# (tests/pull/mock_hub.py on 127.0.0.1, a random port) serving repos built
# from ../shared models: default and explicit quant tags (case-insensitive),
# split files, a repo without the quant, a missing repo, a connection dropped
# mid-file (resumed with Range), resume of a .part left by an earlier run, a
# corrupted .part caught by sha256, a listing with a wrong sha256, a gated
# repo (HF_TOKEN), cache hits without downloads, and offline reuse after the
# hub is gone.
# Usage: test_pull.sh CLLM_BINARY SHARED_DIR
BIN=$1
SHARED=$2
HERE=$(cd "$(dirname "$0")" && pwd)
if [ ! -f "$SHARED/models/synthetic/llama-q8_0.gguf" ]; then
    echo "skip: ../shared absent"
    exit 77
fi
command -v python3 >/dev/null || { echo "skip: python3 not found"; exit 77; }
tmp=$(mktemp -d)
srv_pid=
cleanup() { [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

python3 "$HERE/pull/mock_hub.py" --shared "$SHARED" --port-file "$tmp/port" --log "$tmp/log" &
srv_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { echo "FAIL: mock hub did not start"; exit 1; }
export HF_ENDPOINT="http://127.0.0.1:$(cat "$tmp/port")"
export CLLM_CACHE="$tmp/cache"
unset HF_TOKEN CLLM_OFFLINE HF_HUB_OFFLINE
SYN="$SHARED/models/synthetic"

pull() { # expected_rc description args... ; stdout in $tmp/out, stderr in $tmp/err
    local want=$1 what=$2
    shift 2
    "$BIN" pull "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -eq "$want" ]; then ok; else bad "$what: exit $rc, expected $want: $(tail -c 400 "$tmp/err")"; fi
}
same() { # file reference description
    if cmp -s "$1" "$2"; then ok; else bad "$3: $1 differs from $2"; fi
}
gets() { grep -c "^GET /$1 " "$tmp/log"; }

# usage
pull 2 "no arguments"
pull 1 "bad repo name" "not a repo"

# default tag Q4_K_M, then an explicit lower-case tag
pull 0 "default quant" cllm-test/synthetic
[ "$(cat "$tmp/out")" = "$CLLM_CACHE/cllm-test/synthetic/llama-Q4_K_M.gguf" ] && ok || bad "default path: $(cat "$tmp/out")"
same "$(cat "$tmp/out")" "$SYN/llama-q4_k_m-mix.gguf" "Q4_K_M download"
grep -q "100.0%" "$tmp/err" && ok || bad "no progress bar on stderr"
pull 0 "q8_0 tag" cllm-test/synthetic:q8_0
same "$(cat "$tmp/out")" "$SYN/llama-q8_0.gguf" "Q8_0 download"
[ ! -e "$CLLM_CACHE/cllm-test/synthetic/README.md" ] && ok || bad "README was downloaded"

# a cached file is not fetched again
n0=$(gets "cllm-test/synthetic/resolve/main/llama-Q8_0.gguf")
pull 0 "cache hit" cllm-test/synthetic:Q8_0
n1=$(gets "cllm-test/synthetic/resolve/main/llama-Q8_0.gguf")
[ "$n0" -eq 1 ] && [ "$n1" -eq 1 ] && ok || bad "cache hit downloaded again ($n0 -> $n1 GETs)"

# split model: both parts, path of part 1
pull 0 "split" cllm-test/split:Q8_0
[ "$(basename "$(cat "$tmp/out")")" = "model-Q8_0-00001-of-00002.gguf" ] && ok || bad "split path: $(cat "$tmp/out")"
cat "$CLLM_CACHE/cllm-test/split/model-Q8_0-00001-of-00002.gguf" \
    "$CLLM_CACHE/cllm-test/split/model-Q8_0-00002-of-00002.gguf" >"$tmp/joined" 2>/dev/null
same "$tmp/joined" "$SYN/llama-q8_0.gguf" "split parts"

# a repo without the requested quant; without a tag: its first GGUF
pull 1 "missing quant" cllm-test/noquant:Q4_K_M
grep -q "Q4_K_M" "$tmp/err" && grep -q "stories260K-F32.gguf" "$tmp/err" && ok || bad "missing-quant message: $(cat "$tmp/err")"
pull 0 "first GGUF when Q4_K_M is absent" cllm-test/noquant
same "$(cat "$tmp/out")" "$SHARED/models/real/stories260K.gguf" "noquant download"

# a repo that does not exist
pull 1 "404 repo" cllm-test/nope
grep -q "not found" "$tmp/err" && ok || bad "404 message: $(cat "$tmp/err")"

# connection dropped mid-file: resumed with a Range request
pull 0 "dropped connection" cllm-test/flaky
same "$(cat "$tmp/out")" "$SYN/llama-q4_k_m-mix.gguf" "resumed download"
grep -q "^GET /cllm-test/flaky/resolve/main/llama-Q4_K_M.gguf bytes=[1-9][0-9]*-" "$tmp/log" && ok ||
    bad "no Range request after the drop: $(grep flaky "$tmp/log")"
[ ! -e "$CLLM_CACHE/cllm-test/flaky/llama-Q4_K_M.gguf.part" ] && ok || bad ".part left behind"

# a .part left by an interrupted run is resumed
f="$CLLM_CACHE/cllm-test/synthetic/llama-Q8_0.gguf"
rm -f "$f"
head -c 1000 "$SYN/llama-q8_0.gguf" >"$f.part"
pull 0 "resume .part" cllm-test/synthetic:Q8_0
same "$f" "$SYN/llama-q8_0.gguf" "resumed .part"
grep -q "^GET /cllm-test/synthetic/resolve/main/llama-Q8_0.gguf bytes=1000-" "$tmp/log" && ok || bad "no bytes=1000- request"

# a corrupted .part fails the sha256 check, is removed, and the next pull is clean
rm -f "$f"
head -c 1000 /dev/zero >"$f.part"
pull 1 "corrupted .part" cllm-test/synthetic:Q8_0
grep -q "sha256" "$tmp/err" && ok || bad "sha256 message: $(cat "$tmp/err")"
[ ! -e "$f" ] && [ ! -e "$f.part" ] && ok || bad "corrupted file kept"
pull 0 "clean re-download" cllm-test/synthetic:Q8_0
same "$f" "$SYN/llama-q8_0.gguf" "re-download"

# the listing's sha256 is wrong
pull 1 "bad sha256" cllm-test/badsha:Q8_0
grep -q "sha256" "$tmp/err" && ok || bad "badsha message: $(cat "$tmp/err")"

# gated repo: 401 without a token, fine with HF_TOKEN
pull 1 "gated without token" cllm-test/gated:Q8_0
grep -q "HF_TOKEN" "$tmp/err" && ok || bad "gated message: $(cat "$tmp/err")"
HF_TOKEN=sekrit pull 0 "gated with HF_TOKEN" cllm-test/gated:Q8_0
same "$(cat "$tmp/out")" "$SYN/llama-q8_0.gguf" "gated download"

# offline: the hub goes away, the cache still answers
kill "$srv_pid" 2>/dev/null
wait "$srv_pid" 2>/dev/null
srv_pid=
pull 0 "offline reuse" cllm-test/synthetic
same "$(cat "$tmp/out")" "$SYN/llama-q4_k_m-mix.gguf" "offline path"
CLLM_OFFLINE=1 pull 0 "CLLM_OFFLINE reuse" cllm-test/split:Q8_0
pull 1 "offline, not cached" cllm-test/other
CLLM_OFFLINE=1 pull 1 "offline, quant not cached" cllm-test/noquant:F32 --cache "$tmp/empty"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
