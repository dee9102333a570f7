#!/usr/bin/env python3
"""bench_slots.py: generation throughput of `cllm serve` with 1 stream and
with N concurrent streams on N slots (continuous batching should read each
weight once per step for all streams). Not a ctest (it is slow); run by hand:

  python3 tests/server/bench_slots.py build/cllm MODEL.gguf [--slots 4] [--tokens 64] [--threads 2]

Prints tokens/s for 1 and N streams and their ratio."""
import argparse, json, re, subprocess, threading, time, urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("cllm"); ap.add_argument("model")
ap.add_argument("--slots", type=int, default=4); ap.add_argument("--tokens", type=int, default=64)
ap.add_argument("--threads", type=int, default=2); ap.add_argument("--ctx", type=int, default=2048)
a = ap.parse_args()

srv = subprocess.Popen([a.cllm, "serve", "-m", a.model, "--port", "0", "-np", str(a.slots), "-c", str(a.ctx),
                        "-t", str(a.threads)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
try:
    port = None
    while port is None:
        line = srv.stdout.readline()
        if not line: raise SystemExit("server exited")
        m = re.search(r"listening on http://[\d.]+:(\d+)", line)
        if m: port = int(m.group(1))
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            if urllib.request.urlopen(base + "/health").status == 200: break
        except Exception: time.sleep(0.2)

    def gen(i, out, tokens=None):
        body = json.dumps({"prompt": f"Once upon a time {i}", "max_tokens": tokens or a.tokens, "ignore_eos": True,
                           "temperature": 0}).encode()
        req = urllib.request.Request(base + "/v1/completions", body, {"Content-Type": "application/json"})
        out[i] = json.load(urllib.request.urlopen(req, timeout=3600))

    def run(n, tokens=None):
        out = [None] * n
        t0 = time.time()
        th = [threading.Thread(target=gen, args=(i, out, tokens)) for i in range(n)]
        for t in th: t.start()
        for t in th: t.join()
        dt = time.time() - t0
        toks = sum(o["usage"]["completion_tokens"] for o in out)
        return toks / dt, out

    run(1)  # warm-up (page in the weights)
    one, o1 = run(1)
    run(a.slots, 8)  # warm-up of the N-slot path (first use of every slot's buffers and cache rows)
    many, on = run(a.slots)
    print(f"model {a.model}, {a.threads} threads, {a.tokens} tokens per stream")
    print(f"1 stream : {one:8.2f} tokens/s (generation alone: {o1[0]['timings']['predicted_per_second']:.2f})")
    print(f"{a.slots} streams: {many:8.2f} tokens/s total")
    print(f"ratio    : {many / one:8.2f}x")
finally:
    srv.terminate()
    srv.wait()
