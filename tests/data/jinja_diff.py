#!/usr/bin/env python3
"""Differential check of cllm's Jinja engine against Python jinja2 (optional
developer tool, not part of ctest; needs python3-jinja2 and a built
build/libcllm.a). Renders every template of ../shared/templates with many
variations of the golden conversations in both engines and reports any
difference in output or error class.

    python3 tests/data/jinja_diff.py [SEED] [BUILD_DIR]
"""
import json, glob, os, subprocess, copy, random, sys, tempfile
from datetime import datetime
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
def mkenv(gen=False):
    exts=["jinja2.ext.loopcontrols"]
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=exts)
    env.filters["tojson"] = lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
    def raise_exception(msg): raise jinja2.exceptions.TemplateError(msg)
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime(2026, 7, 26, 10, 0, 0).strftime(fmt)
    return env
env = mkenv()
ROOT=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TD=os.environ.get('CLLM_SHARED', os.path.join(ROOT, '..', 'shared'))+'/templates'
random.seed(int(sys.argv[1]) if len(sys.argv)>1 else 1)
base = {}
for f in glob.glob(TD+'/golden/*.json'):
    d=json.load(open(f)); base.setdefault(d['template'], []).append(d['context'])
def variants(ctx):
    out=[]
    c=copy.deepcopy(ctx); c['add_generation_prompt']=False; out.append(c)
    c=copy.deepcopy(ctx)
    for m in c['messages']:
        if isinstance(m.get('content'), str): m['content'] = '  ' + m['content'] + ' \n'
    out.append(c)
    c=copy.deepcopy(ctx); c.pop('bos_token',None); out.append(c)
    c=copy.deepcopy(ctx); c['messages']=[m for m in c['messages'] if m['role']!='system']; out.append(c)
    c=copy.deepcopy(ctx)
    c['messages'].append({"role":"assistant","content":"<think>hidden</think>Shown answer","reasoning_content":"why"})
    c['messages'].append({"role":"user","content":"Again? {{ not jinja }} {% raw %} \\u00e9 \" ' \t"})
    out.append(c)
    c=copy.deepcopy(ctx)
    for k in ('enable_thinking','thinking'):
        c[k]=random.choice([True,False])
    c['reasoning_effort']=random.choice(['low','medium','high'])
    out.append(c)
    c=copy.deepcopy(ctx)
    c['tools']=[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"location":{"type":"string","description":"City"},"unit":{"type":"string","enum":["c","f"]},"days":{"type":"integer"},"detail":{"type":"boolean"},"tags":{"type":"array","items":{"type":"string"}}},"required":["location"]}}},
                {"type":"function","function":{"name":"noargs","description":"Nothing","parameters":{"type":"object","properties":{}}}}]
    c['messages']=[{"role":"system","content":"You are helpful."},{"role":"user","content":"Weather in Paris and Rome?"},
        {"role":"assistant","content":"","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":{"location":"Paris","days":2,"detail":True,"tags":["a","b"],"ratio":0.5}}},{"id":"call_2","type":"function","function":{"name":"noargs","arguments":{}}}]},
        {"role":"tool","tool_call_id":"call_1","content":"{\"temp\": 21.5}"},{"role":"tool","tool_call_id":"call_2","content":"done"},
        {"role":"assistant","content":"It is 21.5 degrees."},{"role":"user","content":"Thanks"}]
    out.append(c)
    c=copy.deepcopy(ctx)
    c['messages']=[{"role":"system","content":[{"type":"text","text":"Sys part"}]},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
        {"role":"assistant","content":None},{"role":"user","content":"x"},{"role":"assistant","content":"pre","tool_calls":[{"id":"c9","type":"function","function":{"name":"t","arguments":{"q":"\u00e9\n\"x\""}}}]},
        {"role":"tool","name":"t","tool_call_id":"c9","content":"r"},{"role":"system","content":"late system"},{"role":"user","content":""}]
    out.append(c)
    c=copy.deepcopy(ctx); c['messages']=[]; out.append(c)
    c=copy.deepcopy(ctx); c['messages']=[{"role":"user","content":"only"}]; c['tools']=None; out.append(c)
    c=copy.deepcopy(ctx); c['messages']=[{"role":"developer","content":"dev"},{"role":"user","content":"u"}]; out.append(c)
    return out
RENDER_C = r"""#include "cllm.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* usage: render TEMPLATE_FILE < cases.jsonl  -> one JSON line per case: {"out":..} or {"err":..,"type":..} */
#include <jansson.h>
const char *cllm_chat_template_error_type(const cllm_chat_template *t);
int main(int argc, char **argv) {
    FILE *f = fopen(argv[1], "rb"); fseek(f, 0, SEEK_END); long n = ftell(f); rewind(f);
    char *src = malloc(n + 1); fread(src, 1, n, f); src[n] = 0; fclose(f);
    uint32_t flags = (argc > 2 ? 1 : 0) | 2;
    char line[1 << 20];
    while (fgets(line, sizeof line, stdin)) {
        cllm_chat_template *t = NULL; char *out = NULL;
        json_t *r = json_object();
        if (cllm_chat_template_init_ex(src, flags, &t) != CLLM_OK) {
            json_object_set_new(r, "type", json_string("TemplateSyntaxError"));
            json_object_set_new(r, "err", json_string(cllm_last_error()));
        } else if (cllm_chat_template_render(t, line, &out) != CLLM_OK) {
            json_object_set_new(r, "type", json_string(cllm_chat_template_error_type(t)));
            json_object_set_new(r, "err", json_string(cllm_chat_template_last_error(t)));
        } else json_object_set_new(r, "out", json_string(out));
        char *s = json_dumps(r, JSON_COMPACT); puts(s); free(s); free(out); json_decref(r);
        cllm_chat_template_free(t);
    }
    return 0;
}
"""
build = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, 'build')
tmpd = tempfile.mkdtemp()
with open(os.path.join(tmpd, 'render.c'), 'w') as f: f.write(RENDER_C)
render = os.path.join(tmpd, 'render')
libs = subprocess.run(['pkg-config', '--libs', 'jansson', 'libpcre2-8', 'libutf8proc', 'libmicrohttpd', 'libcurl'], capture_output=True, text=True).stdout.split()
subprocess.run(['cc', '-O1', '-I', os.path.join(ROOT, 'include'), '-o', render, os.path.join(tmpd, 'render.c'), os.path.join(build, 'libcllm.a')] + libs + ['-lm', '-lpthread'], check=True)
tot=0; bad=0
for tname, ctxs in sorted(base.items()):
    src=open(os.path.join(TD,tname)).read()
    cases=[]
    for ctx in ctxs:
        cases.extend(variants(ctx))
    exp=[]
    for c in cases:
        try: exp.append(("out", env.from_string(src).render(**c)))
        except Exception as e: exp.append(("err", type(e).__name__, str(e)))
    p=subprocess.run([render, os.path.join(TD,tname)], input="\n".join(json.dumps(c) for c in cases)+"\n", capture_output=True, text=True)
    got=[json.loads(l) for l in p.stdout.splitlines()]
    nb=0
    for i,(e,g) in enumerate(zip(exp,got)):
        tot+=1
        if e[0]=="out":
            ok = g.get("out")==e[1]
        else:
            ok = "out" not in g and (g.get("type")==e[1] or e[1]=="TemplateSyntaxError" and g.get("type")=="TemplateSyntaxError")
        if not ok:
            bad+=1; nb+=1
            if nb<=1:
                print("MISMATCH", tname, i, e[0], e[1][:0] if e[0]=='out' else e[1:], g.get('type'), g.get('err'))
                if e[0]=="out" and "out" in g:
                    a,b=e[1],g["out"]; k=0
                    while k<min(len(a),len(b)) and a[k]==b[k]: k+=1
                    print("   exp:", repr(a[max(0,k-80):k+80])); print("   got:", repr(b[max(0,k-80):k+80]))
    if len(got)!=len(exp): print("COUNT", tname, len(got), len(exp), p.stderr[-300:])
print("total", tot, "bad", bad)
