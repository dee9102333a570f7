#!/usr/bin/env python3
"""Regenerates tests/data/jinja_cases.json: small templates rendered by Python
jinja2 in Hugging Face's chat-template environment (the reference semantics
cllm's engine matches). Run: python3 tests/data/gen_jinja_cases.py"""
import json, os
from datetime import datetime
import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                    extensions=["jinja2.ext.loopcontrols"])
env.filters["tojson"] = lambda x, ensure_ascii=False, indent=None, separators=None, sort_keys=False: \
    json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
def raise_exception(msg): raise jinja2.exceptions.TemplateError(msg)
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = lambda fmt: datetime(2026, 7, 26, 10, 0, 0).strftime(fmt)

CTX = {"msgs": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": " Yo \n"}],
       "d": {"b": 2, "a": 1, "C": 3}, "s": "Hello, World", "n": None, "f": 2.5, "i": 7,
       "u": "héllo wörld ✓ 😀", "lst": [3, 1, 2], "words": ["b", "A", "a", "c"],
       "tools": [{"type": "function", "function": {"name": "f1", "parameters": {"x": 1}}},
                 {"type": "code", "function": {"name": "f2"}}]}

T = r'''
plain text
{{ 1 + 2 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ -7 % 3 }}|{{ 7 / 2 }}|{{ 2 ** 10 }}|{{ 2 ** 3 ** 2 }}
{{ 1.0 }}|{{ 0.1 + 0.2 }}|{{ 1e20 }}|{{ 1e-7 }}|{{ 123456789.125 }}|{{ 3 * 1.5 }}|{{ 10 / 4 }}
{{ "a" ~ 1 ~ none ~ true }}|{{ "ab" * 3 }}|{{ [1] * 2 }}|{{ [1, 2] + [3] }}
{{ [1, 'a', none, true, 1.5, {'k': 'v'}] }}|{{ (1,) }}|{{ (1, 2) }}|{{ {'a': [1, (2, 3)]} }}
{{ "it's" }}|{{ ["it's", 'say "hi"', "both ' \""] }}|{{ ["tab\tnl\n"] }}
{{ 1 < 2 < 3 }}|{{ 3 > 2 > 2 }}|{{ 1 == 1.0 }}|{{ true == 1 }}|{{ 'a' in 'cat' }}|{{ 2 not in [1] }}|{{ 'k' in {'k': 1} }}
{{ not 0 }}|{{ 0 or 'x' }}|{{ 1 and 'y' }}|{{ none or [] }}|{{ 'y' if 0 else 'n' }}|{{ 'only' if false }}!
{{ s[0] }}|{{ s[-1] }}|{{ s[1:4] }}|{{ s[::-1] }}|{{ s[:5] }}|{{ s[7:] }}|{{ lst[1:] }}|{{ lst[::2] }}|{{ u[1:4] }}|{{ u[-1] }}
{{ s.upper() }}|{{ s.lower() }}|{{ s.split(', ') }}|{{ "  a  b ".split() }}|{{ "a,b,,c".split(",", 1) }}|{{ "a b c".rsplit(" ", 1) }}
{{ "  x  ".strip() }}|{{ "xxhixx".strip("x") }}|{{ "  x".lstrip() }}|{{ "x  ".rstrip() }}|{{ s.replace("l", "L") }}|{{ s.replace("l", "L", 1) }}
{{ s.startswith("Hell") }}|{{ s.endswith(("x", "ld")) }}|{{ "hello world".title() }}|{{ "hELLO".capitalize() }}|{{ s.find("o") }}|{{ u.find("w") }}|{{ s.count("l") }}
{{ "{} and {}".format(1, "b") }}|{{ "{0}{1}{0}".format("x", "y") }}|{{ "-".join(["a", "b"]) }}|{{ "%s=%d" % ("k", 5) }}|{{ "%s" % "solo" }}
{{ d.items() | list }}|{{ d.keys() | list }}|{{ d.values() | list }}|{{ d.get("a") }}|{{ d.get("z") }}|{{ d.get("z", 0) }}|{{ d.a }}|{{ d["b"] }}
{{ msgs[0].role }}|{{ msgs[0]["content"] }}|{{ msgs | length }}|{{ (msgs | last).content | trim }}|{{ (msgs | first).role }}
{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ d | tojson(sort_keys=true) }}|{{ u | tojson }}|{{ u | tojson(ensure_ascii=true) }}|{{ [1, 2.0, none, true, "q\"\\"] | tojson }}
{{ {"a": [], "b": {}, "c": [1, {"d": 2}]} | tojson(indent=4) }}|{{ d | tojson(separators=(",", ":")) }}|{{ "\u0001\b\f\r" | tojson }}
{{ lst | sort }}|{{ words | sort }}|{{ words | sort(case_sensitive=true) }}|{{ lst | sort(reverse=true) }}|{{ d | dictsort }}|{{ d | dictsort(by="value", reverse=true) }}
{{ words | unique | list }}|{{ lst | min }}|{{ lst | max }}|{{ lst | sum }}|{{ words | join("+") }}|{{ lst | join }}|{{ msgs | join(",", attribute="role") }}
{{ msgs | map(attribute="role") | list }}|{{ words | map("upper") | list }}|{{ tools | selectattr("type", "equalto", "function") | map(attribute="function.name") | list }}
{{ tools | rejectattr("type", "equalto", "function") | list | length }}|{{ lst | select("odd") | list }}|{{ lst | reject("odd") | list }}|{{ msgs | selectattr("content") | list | length }}
{{ "  pad  " | trim }}|{{ "xxaxx" | trim("x") }}|{{ s | upper }}|{{ s | lower }}|{{ "hello big-world (ok)" | title }}|{{ "abc" | capitalize }}|{{ "a<b>&'\"" | e }}
{{ "3" | int + 1 }}|{{ "3.7" | int }}|{{ "x" | int }}|{{ "x" | int(9) }}|{{ 3.9 | int }}|{{ "2.5" | float }}|{{ 2 | float }}|{{ 2.567 | round(2) }}|{{ 2.5 | round }}|{{ 3.5 | round }}|{{ -3 | abs }}
{{ missing | default("dflt") }}|{{ "" | default("e") }}|{{ "" | default("e", true) }}|{{ none | default("nn") }}|{{ missing | d("short") }}
{{ "a\nb\n\nc" | indent(2) }}|{{ "a\nb" | indent(2, first=true) }}|{{ "a\n\nb" | indent(2, blank=true) }}|{{ "x" | indent("--", true) }}
{{ "abc" | list }}|{{ d | list }}|{{ 5 | string }}|{{ none | string }}|{{ [1] | string }}|{{ "abc" | reverse }}|{{ lst | reverse | list }}|{{ "w1 w2  w3" | wordcount }}
{{ "a" | replace("a", "b") }}|{{ u | length }}|{{ u | upper }}|{{ d | items | list }}|{{ lst | first }}|{{ [] | first }}!
{{ x is defined }}|{{ d is defined }}|{{ n is none }}|{{ s is string }}|{{ d is mapping }}|{{ lst is sequence }}|{{ s is iterable }}|{{ i is number }}|{{ f is float }}|{{ i is integer }}|{{ true is boolean }}
{{ 3 is odd }}|{{ 4 is even }}|{{ 9 is divisibleby 3 }}|{{ "a" is in "abc" }}|{{ 1 is in [1] }}|{{ 1 is eq 1 }}|{{ 2 is gt 1 }}|{{ "ab" is lower }}|{{ "AB" is upper }}|{{ n is not none }}|{{ missing is undefined }}
{{ range(3) | list }}|{{ range(1, 7, 2) | list }}|{{ range(3, 0, -1) | list }}|{{ strftime_now("%Y-%m-%d %H:%M %A %d %b") }}
{% for m in msgs %}
[{{ loop.index }}/{{ loop.length }} {{ loop.index0 }} {{ loop.revindex }} {{ loop.first }} {{ loop.last }} {{ loop.previtem is defined }} {{ loop.nextitem is defined }}] {{ m.role }}
{% endfor %}
{% for x in [] %}never{% else %}empty-else{% endfor %}
{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}{% endfor %}
{% for x in range(6) if x is even %}{{ x }}{{ "," if not loop.last }}{% endfor %}
{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}
{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}
{% for c in "héy" %}<{{ c }}>{% endfor %}
{% for k in d %}{{ k }}{% endfor %}
{% set x = 1 %}{% for i in range(3) %}{% set x = x + i %}{{ x }}{% endfor %}|{{ x }}
{% set ns = namespace(total=0, items=[]) %}{% for i in range(4) %}{% set ns.total = ns.total + i %}{% endfor %}{{ ns.total }}
{% set a, b = 1, 2 %}{{ a }}{{ b }}
{% set blk %}  inside {{ 1 + 1 }}  {% endset %}[{{ blk }}]
{% set blk2 | upper | trim %}  shout  {% endset %}[{{ blk2 }}]
{% macro greet(name, greeting="Hello") %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet("Ann") }} {{ greet("Bob", greeting="Hi") }} {{ greet("Cy", "Yo") }}
{% macro va(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ va(1, 2, 3, k=4) }}
{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap("b") %}bold {{ 1 }}{% endcall %}
{% macro row(x) %}[{{ caller(x * 2) }}]{% endmacro %}{% call(v) row(4) %}v={{ v }}{% endcall %}
{% filter upper %}filtered {{ "text" }}{% endfilter %}
{% macro rec(n) %}{% if n > 0 %}{{ n }}{{ rec(n - 1) }}{% endif %}{% endmacro %}{{ rec(3) }}
{% if false %}no{% elif 0 %}no{% elif "x" %}elif-yes{% else %}no{% endif %}
{# a comment #}
    {% if true %}
    lstripped
    {% endif %}
  {{- " minus-left" }}
{{ "minus-right" -}}
     after
{%- raw %}{{ not evaluated }}{% endraw %}
{{ 'adj' 'acent' }}|{{ "multi"
   "line" }}|{{ ({'a': 1}).a }}|{{ [10, 20][1] }}|{{ msgs.0.role }}
{{ n.attr }}|{{ missing }}|{{ missing | length }}|{{ missing | list }}|{% for q in missing %}x{% endfor %}end
{{ "a b  c".rsplit(None, 1) }}|{{ "l1\nl2\r\nl3".splitlines() }}|{{ "prefix-x".removeprefix("prefix-") }}|{{ "x.txt".removesuffix(".txt") }}|{{ "123".isdigit() }}|{{ "ab1".isalpha() }}
{{ "hi" | center(6) }}!|{{ msgs | sum(attribute="x", start=0) if false else "skip" }}|{{ tools | map(attribute="function.name") | join(",") }}|{{ tools | map(attribute="nope", default="d") | list }}
{{ tools | selectattr("function.parameters") | list | length }}|{{ words | unique(case_sensitive=true) | list }}|{{ [{"k": 2}, {"k": 1}] | min(attribute="k") }}|{{ [{"k": 2}, {"k": 1}] | sort(attribute="k") }}
{{ '\x41\u00e9\U0001F600' }}|{{ 1_000 + 1e3 }}|{{ ('<b>' | safe) + '<i>' }}|{{ '<b>' + ('<i>' | safe) }}|{{ ('<b>' | safe) ~ '<i>' }}|{{ "%s-%s" | format(1, "z") }}|{{ d | attr("a") }}
{{ s[-3:] }}|{{ s[-1:-6:-2] }}|{{ lst[5:1:-1] }}|{{ (1, 2) + (3,) }}|{{ [1, 2] == [1, 2] }}|{{ {"a": 1} == {"a": 1} }}|{{ none is none }}|{{ 2 is sameas 2 }}|{{ dict(a=1, b="x") }}|{{ namespace(d).a }}
{{ "x" if true }}|{{ [1, 2, 3] | last }}|{{ "abc" | last }}|{{ -f }}|{{ +i }}|{{ i > f and f > 0 }}|{{ 1 in [1.0] }}|{{ "a" < "b" }}|{{ [1, 2] < [1, 3] }}|{{ (none or "") | length }}
{{ d | dictsort(case_sensitive=true) }}|{{ "Hello World" | wordcount }}|{{ 3.0 | int }}|{{ "0x1A" | int(0, 16) }}|{{ "12" | float + 0.5 }}|{{ 7 | round }}|{{ 2.675 | round(2) }}|{{ -2.5 | round }}|{{ 2.5 | round(0, "floor") }}|{{ 2.1 | round(0, "ceil") }}
{%+ if true %}plus-kept{% endif %}|   {%+ if true %}keep-indent{% endif %}
   {%- raw -%}   raw body {{ x }}   {%- endraw -%}   |after-raw
  {# lstripped comment #}
text after comment
{% set gen = lst | select("odd") %}{{ gen | list }}|{{ gen | join(",") }}|{{ lst | map("string") | join("|") }}
'''

def render(src, ctx=CTX):
    try:
        return {"expected": env.from_string(src).render(**ctx)}
    except jinja2.exceptions.TemplateSyntaxError as e:
        return {"error_type": "TemplateSyntaxError", "error": str(e)}
    except Exception as e:
        t = type(e).__name__
        if t == "SyntaxError": t = "TemplateSyntaxError"   # jinja2 reports some at compile time
        return {"error_type": t, "error": str(e)}

out = []
# The big template as one case, and each non-empty line as its own case.
out.append({"name": "all", "template": T, **render(T)})
for k, line in enumerate(T.split("\n")):
    if "{{" in line and "{%" not in line and "{#" not in line:
        out.append({"name": "line%d" % k, "template": line, **render(line)})

ERR = [
    ("undef_attr", "{{ missing.attr }}"),
    ("undef_item", "{{ missing[0] }}"),
    ("undef_call", "{{ missing() }}"),
    ("undef_add", "{{ missing + 1 }}"),
    ("str_plus_int", "{{ 'a' + 1 }}"),
    ("str_plus_dict", "{{ 'a' + d }}"),
    ("none_iter", "{% for x in n %}{% endfor %}"),
    ("len_int", "{{ i | length }}"),
    ("append", "{% set l = [] %}{{ l.append(1) }}"),
    ("dict_update", "{{ d.update({}) }}"),
    ("pop", "{{ lst.pop() }}"),
    ("raise", "{{ raise_exception('Bad role: ' ~ 'x') }}"),
    ("map_tojson", "{{ lst | map('string') | tojson }}"),
    ("gen_len", "{{ lst | select('odd') | length }}"),
    ("cmp", "{{ 1 < 'a' }}"),
    ("syntax_unclosed", "{% if x %}abc"),
    ("syntax_unknown_tag", "line1\n  {% frobnicate %}"),
    ("syntax_bad_expr", "{{ 1 + }}"),
    ("syntax_endfor", "{% for x in y %}{% endif %}"),
    ("syntax_break_outside", "{% break %}"),
    ("syntax_unterminated_string", "{{ 'abc }}"),
    ("syntax_generation", "{% generation %}x{% endgeneration %}"),
    ("syntax_do", "{% do x %}"),
    ("tojson_undef", "{{ missing | tojson }}"),
    ("unpack", "{% for a, b in [[1, 2, 3]] %}{% endfor %}"),
    ("ns_assign", "{% set s.x = 1 %}"),
    ("zero_div", "{{ 1 // 0 }}"),
    ("zero_mod", "{{ 1.5 % 0 }}"),
    ("str_minus", "{{ 'a' - 1 }}"),
    ("neg_str", "{{ -'a' }}"),
    ("call_str", "{{ 'a'() }}"),
    ("unhashable", "{{ {[1]: 2} }}"),
    ("getattr_undef_chain", "{{ missing.a.b }}"),
    ("index_str", "{{ 'abc'.index('z') }}"),
    ("split_empty", "{{ 'abc'.split('') }}"),
    ("range_zero", "{{ range(1, 2, 0) }}"),
    ("int_none_default", "{{ none | int }}"),
    ("first_undef", "{{ missing | first }}"),
    ("join_int_list_method", "{{ ','.join([1, 2]) }}"),
    ("format_missing_arg", "{{ '{} {}'.format(1) }}"),
    ("macro_too_many", "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, 2) }}"),
    ("set_block_unclosed", "{% set x %}abc"),
    ("endfor_mismatch", "{% if true %}{% endfor %}"),
    ("elif_after_else", "{% if a %}{% else %}{% elif b %}{% endif %}"),
    ("bad_filter_syntax", "{{ x | }}"),
    ("bad_dict", "{{ {'a' 1} }}"),
    ("tojson_bad_sep", "{{ d | tojson(separators=1) }}"),
]
for name, src in ERR:
    out.append({"name": name, "template": src, **render(src)})

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "jinja_cases.json")
with open(path, "w") as f:
    json.dump({"context": CTX, "cases": out}, f, indent=1, ensure_ascii=False)
    f.write("\n")
print("wrote", len(out), "cases to", path)
