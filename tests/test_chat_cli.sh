#!/usr/bin/env bash
# test_chat_cli.sh: end-to-end tests of `cllm chat` and `cllm template`.
#   bash test_chat_cli.sh <cllm-binary> <shared-dir>
# (a) chat with piped stdin on stories260K (no chat template: ChatML
#     fallback): answers, multiline input, /save /clear /load, KV-cache reuse
#     across turns (and that reuse gives the same greedy answer as a fresh
#     evaluation of the same conversation), usage errors;
# (b) chat in a real terminal: a detached tmux session of fixed size; type a
#     message, watch the answer stream in, Ctrl-C mid-answer, check the
#     program is alive at a new prompt, readline history (Up), Ctrl-C on a
#     half-typed line, /quit;
# (c) `cllm template`: golden cases of ../shared/templates rendered with
#     --context byte-for-byte, error cases exiting 1, and -m on stories260K.
set -u
BIN=${1:?usage: test_chat_cli.sh CLLM_BIN SHARED_DIR}
SHARED=${2:?usage: test_chat_cli.sh CLLM_BIN SHARED_DIR}
if [ ! -d "$SHARED/models" ] || [ ! -d "$SHARED/templates" ]; then
    echo "skip: shared test data not found at $SHARED"
    exit 77
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
MODEL=$(cd "$SHARED/models/real" && pwd)/stories260K.gguf
TPL=$SHARED/templates
T=$(mktemp -d)
TMUX_SOCK="cllm-chat-test-$$"
cleanup() { tmux -L "$TMUX_SOCK" kill-server >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT
export CLLM_CHAT_HISTORY="$T/history"
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

# ------------------------------------------------------------ (a) piped chat
cat > "$T/in1.txt" <<EOF
Once upon a time
The cat\\
sat down
"""
Line one
Line two
"""
/save $T/conv.json
/clear
/save $T/empty.json
/load $T/conv.json
Tell me more
/save $T/conv2.json
/quit
never sent
EOF
"$BIN" chat -m "$MODEL" --system "You tell stories." -n 24 --temp 0 -t 1 -v < "$T/in1.txt" > "$T/out1.txt" 2> "$T/err1.txt"
rc=$?
check "piped chat exits 0 (got $rc)" test "$rc" -eq 0
check "piped chat printed answers" test "$(grep -cv '^\(saved\|loaded\|conversation\)' "$T/out1.txt")" -ge 4
python3 - "$T" <<'EOF' && ok "conversation JSON: roles, multiline messages, /clear, /load" || bad "conversation JSON"
import json, sys
t = sys.argv[1]
c = json.load(open(t + "/conv.json"))
assert [m["role"] for m in c] == ["system"] + ["user", "assistant"] * 3, c
assert c[0]["content"] == "You tell stories."
assert c[1]["content"] == "Once upon a time" and c[3]["content"] == "The cat\nsat down", c
assert c[5]["content"] == "Line one\nLine two", c
assert all(len(m["content"]) > 0 for m in c[2::2]), c
e = json.load(open(t + "/empty.json"))
assert e == [{"role": "system", "content": "You tell stories."}], e
c2 = json.load(open(t + "/conv2.json"))
assert c2[:7] == c and len(c2) == 9 and c2[7] == {"role": "user", "content": "Tell me more"}, c2
assert "never sent" not in open(t + "/conv2.json").read()
EOF
# -v: the second turn reuses everything the first one left in the cache
reused2=$(sed -n '2s/.*tokens, \([0-9]*\) reused.*/\1/p' "$T/err1.txt")
check "turn 2 reuses the KV cache (reused=${reused2:-none})" test "${reused2:-0}" -gt 20
reused4=$(sed -n '4s/.*tokens, \([0-9]*\) reused.*/\1/p' "$T/err1.txt")
check "after /clear + /load nothing is reused (reused=${reused4:-none})" test "${reused4:-1}" -eq 0

# Cache reuse must not change the answer: two turns in one session vs. the
# first turn loaded from a file and the second evaluated from scratch.
printf 'Once upon a time\nThe dog ran\n/save %s/a.json\n' "$T" |
    "$BIN" chat -m "$MODEL" -n 30 --temp 0 -t 1 > /dev/null 2>&1
python3 -c "import json,sys; json.dump(json.load(open(sys.argv[1]))[:2], open(sys.argv[2], 'w'))" "$T/a.json" "$T/a1.json"
printf '/load %s/a1.json\nThe dog ran\n/save %s/b.json\n' "$T" "$T" |
    "$BIN" chat -m "$MODEL" -n 30 --temp 0 -t 1 > /dev/null 2>&1
check "greedy answer with cache reuse == fresh evaluation" cmp -s "$T/a.json" "$T/b.json"

"$BIN" chat > /dev/null 2>&1; rc=$?
check "chat without a model: usage error (2, got $rc)" test "$rc" -eq 2
echo hi | "$BIN" chat -m "$T/missing.gguf" > /dev/null 2> "$T/err2.txt"; rc=$?
check "chat with a missing model: exit 1 (got $rc)" test "$rc" -eq 1
echo "/load $T/missing.json" | "$BIN" chat -m "$MODEL" > /dev/null 2> "$T/err3.txt"; rc=$?
check "/load of a missing file: message, chat goes on" grep -q "missing.json" "$T/err3.txt"

# ------------------------------------------------------ (b) tmux terminal
if ! command -v tmux > /dev/null; then
    bad "tmux is not installed (scripts/install-deps.sh installs it)"
else
    TM() { tmux -L "$TMUX_SOCK" -f /dev/null "$@"; }
    pane() { TM capture-pane -p -t chat 2>/dev/null; }
    # wait_for CMD...: poll (0.1 s) up to 10 s until CMD succeeds
    wait_for() { local i; for i in $(seq 1 100); do "$@" && return 0; sleep 0.1; done; return 1; }
    pane_has() { pane | grep -qF -- "$1"; }
    last_line() { pane | sed '/^[[:space:]]*$/d' | tail -n 1; }
    at_prompt() { [ "$(last_line)" = ">" ]; }
    alive() { [ ! -e "$T/exit" ] && TM has-session -t chat 2>/dev/null; }
    # the answer: the lines after the typed message
    answer() { pane | sed -n '/^> Once upon a time$/,$p' | sed '1d'; }
    answer_len() { answer | tr -d '\n' | wc -c; }
    TM new-session -d -s chat -x 100 -y 30 \
        "env CLLM_CHAT_TOKEN_DELAY_MS=30 CLLM_CHAT_HISTORY='$T/history' '$BIN' chat -m '$MODEL' -n 400 --ignore-eos -t 1; echo \$? > '$T/exit'"
    check "tty: banner and prompt" wait_for at_prompt
    TM send-keys -t chat "Once upon a time" Enter
    check "tty: answer text appears" wait_for eval '[ "$(answer_len)" -ge 20 ]'
    n1=$(answer_len); sleep 0.5; n2=$(answer_len)
    check "tty: answer streams ($n1 -> $n2 chars in 0.5 s)" test "$n2" -gt "$n1"
    TM send-keys -t chat C-c
    check "tty: Ctrl-C stops the answer" wait_for pane_has "[stopped]"
    check "tty: back at the prompt" wait_for at_prompt
    n3=$(answer_len); sleep 0.5; n4=$(answer_len)
    check "tty: nothing more is generated ($n3 -> $n4)" test "$n3" -eq "$n4"
    check "tty: still running after Ctrl-C" alive
    check "tty: the stopped answer is short of -n 400 ($n3 chars)" test "$n3" -lt 1200
    TM send-keys -t chat Up
    check "tty: Up recalls the last message" wait_for eval '[ "$(last_line)" = "> Once upon a time" ]'
    TM send-keys -t chat C-c
    check "tty: Ctrl-C at the prompt clears the line" wait_for at_prompt
    TM send-keys -t chat "/save $T/tty.json" Enter
    check "tty: /save" wait_for pane_has "saved 2 messages"
    check "tty: still running" alive
    TM send-keys -t chat "/quit" Enter
    check "tty: /quit exits" wait_for test -e "$T/exit"
    check "tty: exit status 0 ($(cat "$T/exit" 2>/dev/null))" test "$(cat "$T/exit" 2>/dev/null)" = 0
    python3 - "$T/tty.json" <<'EOF' && ok "tty: conversation kept the stopped answer" || bad "tty conversation"
import json, sys
c = json.load(open(sys.argv[1]))
assert [m["role"] for m in c] == ["user", "assistant"] and c[0]["content"] == "Once upon a time", c
assert len(c[1]["content"]) >= 20, c
EOF
    check "tty: history file written" grep -qx "Once upon a time" "$T/history"
fi

# ------------------------------------------------------------ (c) template
# case name | extra flags
cases="Qwen-Qwen3-0.6B.tool_call
Qwen-Qwen3-0.6B.thinking_off
meta-llama-Llama-3.1-8B-Instruct.system_user
meta-llama-Llama-3.2-3B-Instruct.tool_call
google-gemma-2-2b-it.no_system
openai-gpt-oss-120b.reasoning_effort
mistralai-Mistral-Nemo-Instruct-2407.unicode
deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.reasoning
fireworks-ai-llama-3-firefunction-v2.tool_call"
for c in $cases; do
    f=$TPL/golden/$c.json
    [ -f "$f" ] || { bad "golden case $c missing"; continue; }
    python3 - "$f" "$T" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
json.dump(d["context"], open(sys.argv[2] + "/ctx.json", "w", encoding="utf-8"), ensure_ascii=False)
open(sys.argv[2] + "/tpl.txt", "w").write(d["template"])
open(sys.argv[2] + "/expected.txt", "w", encoding="utf-8", newline="").write(d["expected"])
EOF
    "$BIN" template --chat-template-file "$TPL/$(cat "$T/tpl.txt")" --context "$T/ctx.json" --fixed-clock \
        > "$T/got.txt" 2> "$T/err.txt"
    rc=$?
    if [ "$rc" -eq 0 ] && cmp -s "$T/got.txt" "$T/expected.txt"; then ok "template $c"; else bad "template $c (rc $rc: $(head -c 200 "$T/err.txt"))"; fi
done
# {% generation %}: a syntax error in the plain environment, rendered with --generation-tag
g=LFM2.5-8B-A1B.multi_turn
python3 -c "import json,sys; d=json.load(open(sys.argv[1])); json.dump(d['context'], open(sys.argv[2],'w')); open(sys.argv[3],'w',newline='').write(d['expected'])" \
    "$TPL/golden-generation-ext/$g.json" "$T/ctx.json" "$T/expected.txt"
"$BIN" template --chat-template-file "$TPL/LFM2.5-8B-A1B.jinja" --context "$T/ctx.json" > /dev/null 2> "$T/err.txt"; rc=$?
check "template without --generation-tag: syntax error, exit 1 (got $rc)" eval '[ $rc -eq 1 ] && grep -q TemplateSyntaxError "$T/err.txt"'
"$BIN" template --chat-template-file "$TPL/LFM2.5-8B-A1B.jinja" --context "$T/ctx.json" --generation-tag > "$T/got.txt"
check "template --generation-tag matches golden-generation-ext" cmp -s "$T/got.txt" "$T/expected.txt"
# errors: the golden SecurityError case, raise_exception, a whole case file as context
"$BIN" template --chat-template-file "$TPL/Kimi-K2-Instruct.jinja" --context "$TPL/golden/Kimi-K2-Instruct.tool_call.json" \
    > "$T/got.txt" 2> "$T/err.txt"; rc=$?
check "template error case: exit 1, SecurityError on stderr, nothing on stdout (rc $rc)" \
    eval '[ $rc -eq 1 ] && grep -q "SecurityError" "$T/err.txt" && [ ! -s "$T/got.txt" ]'
printf '{%% if messages|length > 1 %%}{{ raise_exception("only one message, please") }}{%% endif %%}ok' > "$T/raise.jinja"
echo '{"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]}' > "$T/two.json"
"$BIN" template --chat-template-file "$T/raise.jinja" --context "$T/two.json" > "$T/got.txt" 2> "$T/err.txt"; rc=$?
check "raise_exception: exit 1 with the template's message (rc $rc)" \
    eval '[ $rc -eq 1 ] && grep -q "TemplateError: only one message, please" "$T/err.txt"'
echo '[1, 2]' > "$T/notobj.json"
"$BIN" template --chat-template-file "$T/raise.jinja" --context "$T/notobj.json" > /dev/null 2>&1; rc=$?
check "context that is not an object: exit 1 (got $rc)" test "$rc" -eq 1
# -m: the model's own formatting (stories260K has no template: ChatML)
echo '[{"role": "system", "content": "S"}, {"role": "user", "content": "Hi"}]' > "$T/msgs.json"
"$BIN" template -m "$MODEL" --messages "$T/msgs.json" > "$T/got.txt" 2> /dev/null
printf '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n' > "$T/expected.txt"
check "template -m: ChatML fallback prompt" cmp -s "$T/got.txt" "$T/expected.txt"
echo '[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]' > "$T/tools.json"
"$BIN" template -m "$MODEL" --messages "$T/msgs.json" --tools "$T/tools.json" > "$T/got.txt" 2> /dev/null
check "template -m --tools: tools listed" grep -q '"name": "get_weather"' "$T/got.txt"
"$BIN" template -m "$MODEL" --messages "$T/msgs.json" --chat-template-file "$TPL/google-gemma-2-2b-it.jinja" \
    > "$T/got.txt" 2> "$T/err.txt"; rc=$?
check "template -m with an override template raising (gemma: no system role) exits 1 (rc $rc)" test "$rc" -eq 1
"$BIN" template --context "$T/two.json" > /dev/null 2>&1; rc=$?
check "template --context without a template file: usage error (got $rc)" test "$rc" -eq 2

echo "failures: $fails"
[ "$fails" -eq 0 ]
