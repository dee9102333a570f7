#!/usr/bin/env python3
"""mock_hub.py: a local stand-in for the Hugging Face hub routes `cllm pull`
uses, serving repos built from ../shared models, for tests/test_pull.sh.

Routes:
  GET /api/models/{owner}/{name}/tree/main[?recursive=...]  JSON file listing
      ({type, path, size, oid, lfs: {oid: sha256, size}} per file)
  GET|HEAD /{owner}/{name}/resolve/main/{path}  the file, honouring
      "Range: bytes=N-" with 206 + Content-Range
Repos (cllm-test/...): synthetic (Q4_K_M mix, Q8_0, README), split (a Q8_0
file cut in two parts -00001-of-00002), noquant (only an F32 GGUF), flaky
(its first full download is cut off after half the bytes), gated (needs
"Authorization: Bearer sekrit"), badsha (listing sha256 is wrong). Others 404.
Every request is appended to --log as "METHOD PATH RANGE".

Usage: mock_hub.py --shared DIR --port-file FILE --log FILE
Binds 127.0.0.1 on a random free port and writes it to --port-file.
"""
import argparse
import hashlib
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

ap = argparse.ArgumentParser()
ap.add_argument("--shared", required=True)
ap.add_argument("--port-file", required=True)
ap.add_argument("--log", required=True)
args = ap.parse_args()


def load(rel):
    with open(os.path.join(args.shared, rel), "rb") as f:
        return f.read()


q4 = load("models/synthetic/llama-q4_k_m-mix.gguf")
q8 = load("models/synthetic/llama-q8_0.gguf")
f32 = load("models/real/stories260K.gguf")
half = len(q8) // 2
REPOS = {
    "cllm-test/synthetic": {"llama-Q4_K_M.gguf": q4, "llama-Q8_0.gguf": q8, "README.md": b"# synthetic\n"},
    "cllm-test/split": {"model-Q8_0-00001-of-00002.gguf": q8[:half], "model-Q8_0-00002-of-00002.gguf": q8[half:]},
    "cllm-test/noquant": {"stories260K-F32.gguf": f32},
    "cllm-test/flaky": {"llama-Q4_K_M.gguf": q4},
    "cllm-test/gated": {"llama-Q8_0.gguf": q8},
    "cllm-test/badsha": {"llama-Q8_0.gguf": q8},
}
drops_done = set()
lock = threading.Lock()


def listing(repo):
    out = []
    for path, data in sorted(REPOS[repo].items()):
        e = {"type": "file", "oid": hashlib.sha1(data).hexdigest(), "size": len(data), "path": path}
        if path.endswith(".gguf"):
            sha = hashlib.sha256(data).hexdigest()
            if repo == "cllm-test/badsha":
                sha = "0" * 64
            e["lfs"] = {"oid": sha, "size": len(data), "pointerSize": 134}
        out.append(e)
    return json.dumps(out).encode()


class Hub(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def record(self):
        with lock, open(args.log, "a") as f:
            f.write(f"{self.command} {self.path} {self.headers.get('Range', '-')}\n")

    def send(self, code, body=b"", ctype="application/json", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def authorized(self, repo):
        return repo != "cllm-test/gated" or self.headers.get("Authorization") == "Bearer sekrit"

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.record()
        parts = [unquote(p) for p in urlsplit(self.path).path.split("/") if p]
        if len(parts) >= 6 and parts[:2] == ["api", "models"] and parts[4:6] == ["tree", "main"]:
            repo = "/".join(parts[2:4])
            if repo not in REPOS:
                return self.send(404, b'{"error":"Repository not found"}')
            if not self.authorized(repo):
                return self.send(401, b'{"error":"Access to model is restricted"}')
            return self.send(200, listing(repo))
        if len(parts) >= 5 and parts[2:4] == ["resolve", "main"]:
            repo, path = "/".join(parts[:2]), "/".join(parts[4:])
            if repo not in REPOS or path not in REPOS[repo]:
                return self.send(404, b'{"error":"Entry not found"}')
            if not self.authorized(repo):
                return self.send(401, b'{"error":"Access to model is restricted"}')
            data = REPOS[repo][path]
            rng = self.headers.get("Range")
            if rng:
                start = int(rng.split("=")[1].split("-")[0])
                if start >= len(data):
                    return self.send(416, b"", extra={"Content-Range": f"bytes */{len(data)}"})
                return self.send(206, data[start:], "application/octet-stream",
                                 {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"})
            with lock:
                drop = repo == "cllm-test/flaky" and (repo, path) not in drops_done
                drops_done.add((repo, path))
            if drop and self.command == "GET":
                # promise the whole file, send half, hang up
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            return self.send(200, data, "application/octet-stream")
        self.send(404, b'{"error":"not found"}')


srv = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
with open(args.port_file + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.replace(args.port_file + ".tmp", args.port_file)
srv.serve_forever()
