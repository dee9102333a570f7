#!/usr/bin/env bash
# malformed.sh: the malformed-request suite of `cllm serve`. Usage:
#   malformed.sh BASE_URL API_KEY
# Each case sends one request and expects a status code (and, for errors, a
# JSON error object in the route's shape); after every case the server must
# still answer /health with 200. Prints one line per failure and a summary;
# exit 1 on any failure.
set -u
base=$1
key=$2
pass=0
fail=0
auth=(-H "Authorization: Bearer $key")

alive() {
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$base/health")" = 200 ]
}

# case NAME EXPECTED_STATUS SHAPE(openai|anthropic|none) curl-args...
case_() {
  local name=$1 want=$2 shape=$3
  shift 3
  local out
  out=$(mktemp)
  local got
  got=$(curl -s -o "$out" -w '%{http_code}' --max-time 20 "$@")
  local ok=1
  [ "$got" = "$want" ] || ok=0
  if [ $ok = 1 ] && [ "$want" -ge 400 ]; then
    case $shape in
      openai) grep -q '"error":{"message":' "$out" || ok=0 ;;
      anthropic) grep -q '"type":"error","error":{' "$out" || ok=0 ;;
    esac
  fi
  if ! alive; then
    echo "FAIL $name: server not alive afterwards"
    fail=$((fail + 1))
    rm -f "$out"
    return
  fi
  if [ $ok = 1 ]; then
    pass=$((pass + 1))
  else
    echo "FAIL $name: want $want ($shape), got $got: $(head -c 300 "$out")"
    fail=$((fail + 1))
  fi
  rm -f "$out"
}

J=(-H "Content-Type: application/json")
C="$base/v1/chat/completions"
P="$base/v1/completions"
M="$base/v1/messages"
R="$base/v1/responses"
E="$base/v1/embeddings"
msg='"messages":[{"role":"user","content":"hi"}]'
big=$(mktemp)
trap 'rm -f "$big"' EXIT
head -c 9000000 /dev/zero | tr '\0' 'a' > "$big"

# --- auth (401) ---
case_ no-key 401 openai "${J[@]}" -d "{$msg}" "$C"
case_ wrong-key 401 openai "${J[@]}" -H "Authorization: Bearer x$key" -d "{$msg}" "$C"
case_ key-prefix 401 openai "${J[@]}" -H "Authorization: Bearer ${key:0:2}" -d "{$msg}" "$C"
case_ basic-auth 401 openai "${J[@]}" -H "Authorization: Basic $key" -d "{$msg}" "$C"
case_ anthropic-no-key 401 anthropic "${J[@]}" -d '{}' "$M"
case_ anthropic-wrong-key 401 anthropic "${J[@]}" -H "x-api-key: nope" -d '{}' "$M"
case_ models-no-key 401 openai "$base/v1/models"
case_ health-no-key 200 none "$base/health"
case_ page-no-key 200 none "$base/"
# --- routing (404/405) ---
case_ unknown-path 404 openai "${auth[@]}" "$base/v2/chat"
case_ unknown-deep 404 openai "${auth[@]}" "$base/v1/chat/completions/x"
case_ path-traversal 404 openai "${auth[@]}" --path-as-is "$base/../../etc/passwd"
case_ get-on-post 405 openai "${auth[@]}" "$C"
case_ put 405 openai "${auth[@]}" -X PUT "$C"
case_ delete 405 openai "${auth[@]}" -X DELETE "$base/v1/models"
case_ post-on-get 405 openai "${auth[@]}" -X POST "$base/v1/models"
case_ anthropic-get 405 anthropic "${auth[@]}" "$M"
# --- bodies (400/413) ---
case_ empty-body 400 openai "${auth[@]}" "${J[@]}" -X POST "$C"
case_ not-json 400 openai "${auth[@]}" "${J[@]}" -d 'hello' "$C"
case_ truncated-json 400 openai "${auth[@]}" "${J[@]}" -d '{"messages":[' "$C"
case_ json-array 400 openai "${auth[@]}" "${J[@]}" -d '[1,2]' "$C"
case_ json-string 400 openai "${auth[@]}" "${J[@]}" -d '"x"' "$C"
case_ duplicate-keys 400 openai "${auth[@]}" "${J[@]}" -d '{"a":1,"a":2}' "$C"
case_ nul-byte 400 openai "${auth[@]}" "${J[@]}" --data-binary $'{"messages":\x00}' "$C"
case_ invalid-utf8 400 openai "${auth[@]}" "${J[@]}" --data-binary $'{"messages":[{"role":"user","content":"\xff\xfe"}]}' "$C"
case_ too-large 413 openai "${auth[@]}" "${J[@]}" --data-binary "@$big" "$C"
case_ too-large-anthropic 413 anthropic "${auth[@]}" "${J[@]}" --data-binary "@$big" "$M"
case_ deep-nesting 400 openai "${auth[@]}" "${J[@]}" -d "$(printf '[%.0s' $(seq 1 3000))" "$C"
# --- chat fields ---
case_ no-messages 400 openai "${auth[@]}" "${J[@]}" -d '{}' "$C"
case_ messages-object 400 openai "${auth[@]}" "${J[@]}" -d '{"messages":{}}' "$C"
case_ messages-empty 400 openai "${auth[@]}" "${J[@]}" -d '{"messages":[]}' "$C"
case_ bad-role 400 openai "${auth[@]}" "${J[@]}" -d '{"messages":[{"role":"wizard","content":"x"}]}' "$C"
case_ role-number 400 openai "${auth[@]}" "${J[@]}" -d '{"messages":[{"role":1,"content":"x"}]}' "$C"
case_ content-number 400 openai "${auth[@]}" "${J[@]}" -d '{"messages":[{"role":"user","content":5}]}' "$C"
case_ image-part 400 openai "${auth[@]}" "${J[@]}" -d '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}' "$C"
case_ part-no-text 400 openai "${auth[@]}" "${J[@]}" -d '{"messages":[{"role":"user","content":[{"type":"text"}]}]}' "$C"
case_ temperature-string 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"temperature\":\"hot\"}" "$C"
case_ temperature-high 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"temperature\":9}" "$C"
case_ top-p-negative 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"top_p\":-1}" "$C"
case_ max-tokens-negative 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"max_tokens\":-5}" "$C"
case_ max-tokens-float 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"max_tokens\":1.5}" "$C"
case_ n-zero 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"n\":0}" "$C"
case_ n-huge 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"n\":1000}" "$C"
case_ seed-string 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"seed\":\"x\"}" "$C"
case_ stop-number 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"stop\":5}" "$C"
case_ stop-array-number 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"stop\":[\"a\",1]}" "$C"
case_ stream-string 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"stream\":\"yes\"}" "$C"
case_ stream-options 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"stream_options\":3}" "$C"
case_ logit-bias-array 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"logit_bias\":[1]}" "$C"
case_ logit-bias-bad-id 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"logit_bias\":{\"-3\":1}}" "$C"
case_ logit-bias-value 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"logit_bias\":{\"1\":\"x\"}}" "$C"
case_ top-logprobs-without 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"top_logprobs\":3}" "$C"
case_ top-logprobs-high 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"logprobs\":true,\"top_logprobs\":99}" "$C"
case_ response-format-type 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"response_format\":{\"type\":\"xml\"}}" "$C"
case_ response-format-string 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"response_format\":\"json\"}" "$C"
case_ json-schema-missing 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{}}}" "$C"
case_ tools-object 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"tools\":{}}" "$C"
case_ tools-no-name 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"tools\":[{\"type\":\"function\",\"function\":{}}]}" "$C"
case_ tool-choice-bad 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"tool_choice\":\"sometimes\"}" "$C"
case_ tool-choice-no-tools 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"tool_choice\":\"required\"}" "$C"
case_ tool-choice-unknown-fn 400 openai "${auth[@]}" "${J[@]}" -d "{$msg,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"g\"}}}" "$C"
case_ context-overflow 400 openai "${auth[@]}" "${J[@]}" -d "{\"messages\":[{\"role\":\"user\",\"content\":\"$(head -c 30000 /dev/zero | tr '\0' 'z' | sed 's/z/zz /g')\"}]}" "$C"
# --- completions ---
case_ prompt-missing 400 openai "${auth[@]}" "${J[@]}" -d '{}' "$P"
case_ prompt-object 400 openai "${auth[@]}" "${J[@]}" -d '{"prompt":{}}' "$P"
case_ prompt-bad-id 400 openai "${auth[@]}" "${J[@]}" -d '{"prompt":[1,999999999]}' "$P"
case_ prompt-negative-id 400 openai "${auth[@]}" "${J[@]}" -d '{"prompt":[-1]}' "$P"
case_ prompt-batch 400 openai "${auth[@]}" "${J[@]}" -d '{"prompt":["a","b"]}' "$P"
case_ prompt-empty 400 openai "${auth[@]}" "${J[@]}" -d '{"prompt":[]}' "$P"
case_ logprobs-high 400 openai "${auth[@]}" "${J[@]}" -d '{"prompt":"x","logprobs":50}' "$P"
case_ echo-string 400 openai "${auth[@]}" "${J[@]}" -d '{"prompt":"x","echo":"yes"}' "$P"
# --- anthropic ---
case_ msg-no-max-tokens 400 anthropic "${auth[@]}" "${J[@]}" -d "{$msg}" "$M"
case_ msg-bad-role 400 anthropic "${auth[@]}" "${J[@]}" -d '{"max_tokens":5,"messages":[{"role":"system","content":"x"}]}' "$M"
case_ msg-bad-block 400 anthropic "${auth[@]}" "${J[@]}" -d '{"max_tokens":5,"messages":[{"role":"user","content":[{"type":"image"}]}]}' "$M"
case_ msg-system-number 400 anthropic "${auth[@]}" "${J[@]}" -d "{\"max_tokens\":5,\"system\":3,$msg}" "$M"
case_ msg-stop-string 400 anthropic "${auth[@]}" "${J[@]}" -d "{\"max_tokens\":5,\"stop_sequences\":\"x\",$msg}" "$M"
case_ msg-tool-choice 400 anthropic "${auth[@]}" "${J[@]}" -d "{\"max_tokens\":5,\"tool_choice\":{\"type\":\"any\"},$msg}" "$M"
case_ msg-max-tokens-zero 400 anthropic "${auth[@]}" "${J[@]}" -d "{\"max_tokens\":0,$msg}" "$M"
case_ msg-max-tokens-null 400 anthropic "${auth[@]}" "${J[@]}" -d "{\"max_tokens\":null,$msg}" "$M"
case_ msg-max-tokens-array 400 anthropic "${auth[@]}" "${J[@]}" -d "{\"max_tokens\":[1],\"max_output_tokens\":null,$msg}" "$M"
case_ count-no-messages 400 anthropic "${auth[@]}" "${J[@]}" -d '{}' "$M/count_tokens"
# --- responses / embeddings / native ---
case_ resp-no-input 400 openai "${auth[@]}" "${J[@]}" -d '{}' "$R"
case_ resp-bad-item 400 openai "${auth[@]}" "${J[@]}" -d '{"input":[{"type":"wat"}]}' "$R"
case_ resp-previous-id 400 openai "${auth[@]}" "${J[@]}" -d '{"input":"x","previous_response_id":"resp_1"}' "$R"
case_ emb-no-input 400 openai "${auth[@]}" "${J[@]}" -d '{}' "$E"
case_ emb-bad-format 400 openai "${auth[@]}" "${J[@]}" -d '{"input":"x","encoding_format":"hex"}' "$E"
case_ emb-bad-item 400 openai "${auth[@]}" "${J[@]}" -d '{"input":[{}]}' "$E"
case_ tokenize-no-content 400 openai "${auth[@]}" "${J[@]}" -d '{}' "$base/tokenize"
case_ detokenize-bad 400 openai "${auth[@]}" "${J[@]}" -d '{"tokens":["a"]}' "$base/detokenize"
case_ template-bad 400 openai "${auth[@]}" "${J[@]}" -d '{"messages":"x"}' "$base/apply-template"
# --- protocol oddities ---
case_ bad-content-length 400 none "${auth[@]}" "${J[@]}" -H "Content-Length: abc" -d '{}' "$C"
case_ http10 400 openai "${auth[@]}" "${J[@]}" --http1.0 -d '{}' "$C"
case_ options-preflight 204 none -X OPTIONS -H "Origin: http://x" "$C"
case_ ok-chat 200 none "${auth[@]}" "${J[@]}" -d "{$msg,\"max_tokens\":3}" "$C"

# A client that sends half a body and hangs up must not hurt the server.
hostport=${base#http://}
if { exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}"; } 2>/dev/null; then
  printf 'POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"messages"' >&3
  exec 3>&-
fi
if alive; then pass=$((pass + 1)); else echo "FAIL half-body: server dead"; fail=$((fail + 1)); fi

echo "malformed: $pass passed, $fail failed"
[ $fail = 0 ]
