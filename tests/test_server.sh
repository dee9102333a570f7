#!/usr/bin/env bash
# test_server.sh: end-to-end tests of `cllm serve` on loopback with the real
# models of ../shared: the malformed-request suite (curl), the official
# openai and @anthropic-ai/sdk npm clients, a 32-client concurrency test with
# disconnects, and the web page in headless Chromium (playwright-core).
# Usage: bash tests/test_server.sh <path-to-cllm> <shared-dir>
# npm packages are installed (once) into <build-dir>/npm, which is git-ignored.
set -u
BIN=${1:?usage: test_server.sh CLLM_BIN SHARED_DIR}
SHARED=${2:?usage: test_server.sh CLLM_BIN SHARED_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(dirname "$HERE")
if [ ! -d "$SHARED/models/real" ]; then
  echo "skip: $SHARED/models/real is absent (the shared test data)"
  exit 77
fi
fail=0
note() { echo "== $*"; }
bad() { echo "FAIL: $*"; fail=1; }

# The embedded page must be regenerated after editing webui.html.
tmpc=$(mktemp --suffix=.c)
python3 "$SRC/src/server/gen_webui.py" "$tmpc" && cmp -s "$tmpc" "$SRC/src/server/webui.c" ||
  bad "src/server/webui.c is stale: run python3 src/server/gen_webui.py"
rm -f "$tmpc"

for tool in node npm curl; do
  command -v $tool >/dev/null || { echo "FAIL: '$tool' is missing (scripts/install-deps.sh installs it)"; exit 1; }
done
CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "FAIL: chromium is missing (scripts/install-deps.sh installs it)"; exit 1; }
NPM_DIR=$(cd "$(dirname "$BIN")" && pwd)/npm
if [ ! -d "$NPM_DIR/node_modules/openai" ] || [ ! -d "$NPM_DIR/node_modules/@anthropic-ai/sdk" ] ||
   [ ! -d "$NPM_DIR/node_modules/playwright-core" ]; then
  note "installing openai, @anthropic-ai/sdk, playwright-core into $NPM_DIR"
  mkdir -p "$NPM_DIR"
  npm install --prefix "$NPM_DIR" --no-audit --no-fund --silent openai @anthropic-ai/sdk playwright-core ||
    { echo "FAIL: npm install failed"; exit 1; }
fi
export CLLM_NPM=$NPM_DIR

KEY="test-key-$$-$RANDOM"
LOG=$(mktemp)
PID=
# Stop the server with SIGTERM; it must exit 0 within 20 s (sanitizer
# builds report leaks and errors through the exit status).
stop_server() {
  if [ -n "$PID" ]; then
    kill "$PID" 2>/dev/null
    for _ in $(seq 200); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$PID" 2>/dev/null; then
      kill -9 "$PID" 2>/dev/null
      bad "server did not stop on SIGTERM"
    fi
    wait "$PID" 2>/dev/null
    local rc=$?
    [ $rc = 0 ] || bad "server exit status $rc: $(tail -30 "$LOG")"
    PID=
  fi
}
trap 'stop_server >/dev/null; rm -f "$LOG"' EXIT

# start_server MODEL extra-args... ; sets BASE
start_server() {
  local model=$1
  shift
  : > "$LOG"
  "$BIN" serve -m "$model" --port 0 --api-key "$KEY" -np 4 -c 2048 -t 2 --metrics "$@" > "$LOG" 2>&1 &
  PID=$!
  local port=
  for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$LOG")
    [ -n "$port" ] && break
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$port" ]; then bad "server did not start: $(cat "$LOG")"; return 1; fi
  BASE=http://127.0.0.1:$port
  # /health is 503 while loading, 200 when ready
  for _ in $(seq 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/health")" = 200 ] && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  bad "server not healthy: $(cat "$LOG")"
  return 1
}

for model in stories260K.gguf tinyllama-v0-q4_0.gguf; do
  note "model $model"
  if ! start_server "$SHARED/models/real/$model" --embeddings; then stop_server; continue; fi
  if [ "$model" = stories260K.gguf ]; then
    note "malformed requests"
    bash "$HERE/server/malformed.sh" "$BASE" "$KEY" || bad "malformed suite ($model)"
  fi
  note "native routes"
  H=(-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json')
  toks=$(curl -s "${H[@]}" -d '{"content":"Once upon a time, Lily"}' "$BASE/tokenize" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["tokens"]))')
  text=$(curl -s "${H[@]}" -d "{\"tokens\":$toks}" "$BASE/detokenize" | python3 -c 'import json,sys; print(json.load(sys.stdin)["content"])')
  [ "$text" = "Once upon a time, Lily" ] || bad "tokenize/detokenize round trip: $toks -> '$text'"
  curl -s "${H[@]}" "$BASE/metrics" | grep -q '^cllm:kv_cache_usage_ratio ' || bad "/metrics"
  curl -s "${H[@]}" "$BASE/slots" | grep -q '"state":"idle"' || bad "/slots"
  curl -s "${H[@]}" "$BASE/props" | grep -q '"total_slots":4' || bad "/props"
  # the same prompt twice: the second reuses the cached prefix
  for _ in 1 2; do
    out=$(curl -s "${H[@]}" -d '{"prompt":"Once upon a time there was a cat","max_tokens":4,"temperature":0}' "$BASE/v1/completions")
  done
  echo "$out" | grep -q '"cached_tokens":[1-9]' || bad "prompt cache not reused: $out"
  note "SDK clients"
  timeout 300 node "$HERE/server/sdk_test.mjs" "$BASE" "$KEY" || bad "SDK tests ($model)"
  note "concurrency"
  timeout 300 node "$HERE/server/concurrency.mjs" "$BASE" "$KEY" 32 || bad "concurrency ($model)"
  if [ "$model" = stories260K.gguf ]; then
    note "web page"
    timeout 120 node "$HERE/server/webui.mjs" "$BASE" "$KEY" "$CHROMIUM" || bad "web page ($model)"
  fi
  kill -0 "$PID" 2>/dev/null || bad "server died: $(tail -5 "$LOG")"
  stop_server
done

# Without --embeddings the route says how to enable it; SIGTERM shuts down cleanly.
if start_server "$SHARED/models/real/stories260K.gguf"; then
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"input":"x"}' "$BASE/v1/embeddings")
  [ "$code" = 501 ] || bad "embeddings without --embeddings: $code (want 501)"
  stop_server
fi
[ $fail = 0 ] && echo "test_server: all passed"
exit $fail
