#!/usr/bin/env python3
"""gen_webui.py: regenerate src/server/webui.c from src/server/webui.html.
Run after editing the page: python3 src/server/gen_webui.py
tests/test_server.sh checks that webui.c is up to date."""
import os, sys

here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, "webui.html")
dst = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "webui.c")
html = open(src, "rb").read()

def lit(line: bytes) -> str:
    out = []
    for b in line:
        c = chr(b)
        if c == "\\": out.append("\\\\")
        elif c == '"': out.append('\\"')
        elif c == "\n": out.append("\\n")
        elif c == "?": out.append("\\?")   # no trigraphs
        elif 32 <= b < 127: out.append(c)
        else: out.append("\\%03o" % b)
    return '"' + "".join(out) + '"'

lines = html.split(b"\n")
body = [lit(l + b"\n") for l in lines[:-1]] + ([lit(lines[-1])] if lines[-1] else [])
with open(dst, "w") as f:
    f.write("/* webui.c: the chat page served at / by `cllm serve`. GENERATED from\n"
            " * webui.html by gen_webui.py; edit the HTML and regenerate. */\n")
    f.write('#include "server/server.h"\n\n#include <string.h>\n\n')
    f.write("static const char k_page[] =\n")
    for b in body:
        f.write("    " + b + "\n")
    f.write("    ;\n\n")
    f.write("void srv_route_webui(srv_req *r, json_t *body) {\n"
            "    (void)body;\n"
            '    srv_reply_text(r, 200, "text/html; charset=utf-8", k_page, sizeof k_page - 1);\n'
            "}\n")
