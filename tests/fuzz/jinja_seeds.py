#!/usr/bin/env python3
"""Seeds for fuzz_jinja: the shared chat templates (with a NUL and a golden
context appended) and small model outputs of each tool-call family."""
import glob, json, os, sys
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
shared = os.environ.get("CLLM_SHARED", os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
n = 0
for f in sorted(glob.glob(os.path.join(shared, "templates", "golden", "*.json")))[::7]:
    case = json.load(open(f))
    src = open(os.path.join(shared, "templates", case["template"]), "rb").read()
    open(os.path.join(out, "tmpl%03d" % n), "wb").write(src + b"\0" + json.dumps(case["context"]).encode())
    n += 1
outputs = [
    '<think>hm</think>Hi<tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>',
    '[TOOL_CALLS][{"name": "f", "arguments": {}, "id": "abc"}]',
    '[TOOL_CALLS]f[ARGS]{"x": [1, 2]}',
    '<|channel|>analysis<|message|>t<|end|><|start|>assistant<|channel|>commentary to=functions.f <|constrain|>json<|message|>{}<|call|>',
    'all\ntext>>>f\n{"a": 1}',
    '<function=f>{"a": 1}</function>',
    '<|python_tag|>brave_search.call(query="x")',
    '{"tool_calls": [{"name": "f", "arguments": {}}]}',
    '{% for m in messages %}{{ m.role | upper }}{{ m.content | tojson }}{% endfor %}',
]
for i, o in enumerate(outputs):
    open(os.path.join(out, "out%02d" % i), "wb").write(o.encode())
