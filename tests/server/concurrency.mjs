// concurrency.mjs: 32 clients on a 4-slot `cllm serve`: streams and
// non-streams mixed, half of the clients disconnect mid-stream. Expects no
// failed request, every completed stream well-formed ([DONE] after a
// finish_reason), and every slot idle afterwards (/slots).
// Usage: node concurrency.mjs BASE_URL API_KEY [N_CLIENTS]
const [base, key, nArg] = process.argv.slice(2);
const N = parseInt(nArg ?? "32", 10);
const H = { "Content-Type": "application/json", Authorization: "Bearer " + key };
let failures = 0;
const log = (m) => { failures++; console.log("FAIL " + m); };

async function streamClient(i, disconnect) {
  const ctrl = new AbortController();
  const res = await fetch(base + "/v1/chat/completions", {
    method: "POST", headers: H, signal: ctrl.signal,
    body: JSON.stringify({ messages: [{ role: "user", content: "Story number " + (i % 5) }], max_tokens: disconnect ? 4000 : 12, stream: true, temperature: 0.7, seed: i, ignore_eos: disconnect }),
  });
  if (res.status !== 200) return log(`client ${i}: status ${res.status} ${await res.text()}`);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = "", chunks = 0, finish = null, done = false;
  try {
    for (;;) {
      const { value, done: eof } = await reader.read();
      if (eof) break;
      buf += dec.decode(value, { stream: true });
      let k;
      while ((k = buf.indexOf("\n\n")) >= 0) {
        const ev = buf.slice(0, k); buf = buf.slice(k + 2);
        if (!ev.startsWith("data: ")) continue;
        const data = ev.slice(6);
        if (data === "[DONE]") { done = true; continue; }
        const j = JSON.parse(data);
        if (j.error) return log(`client ${i}: stream error ${j.error.message}`);
        chunks++;
        finish = j.choices[0]?.finish_reason ?? finish;
      }
      if (disconnect && chunks >= 3) { ctrl.abort(); return "aborted"; }
    }
  } catch (e) {
    if (disconnect && e.name === "AbortError") return "aborted";
    return log(`client ${i}: ${e}`);
  }
  if (disconnect) return log(`client ${i}: stream ended before the disconnect (${chunks} chunks)`);
  if (!done || !finish) log(`client ${i}: stream not closed properly (done ${done}, finish ${finish})`);
  return "ok";
}

async function plainClient(i) {
  const res = await fetch(base + "/v1/completions", {
    method: "POST", headers: H,
    body: JSON.stringify({ prompt: "Once upon a time " + i, max_tokens: 8, temperature: 0 }),
  });
  const j = await res.json();
  if (res.status !== 200 || typeof j.choices?.[0]?.text !== "string") log(`client ${i}: ${res.status} ${JSON.stringify(j).slice(0, 200)}`);
  return "ok";
}

const t0 = Date.now();
const jobs = [];
for (let i = 0; i < N; i++) {
  if (i % 2 === 0) jobs.push(streamClient(i, true));          // half disconnect mid-stream
  else if (i % 4 === 1) jobs.push(streamClient(i, false));
  else jobs.push(plainClient(i));
}
const results = await Promise.all(jobs.map((p) => p.catch((e) => log("exception " + e))));
const aborted = results.filter((r) => r === "aborted").length;
// Every slot must be free soon after (a disconnect frees its slot within a step).
let idle = false, slots = null;
for (let k = 0; k < 100 && !idle; k++) {
  const r = await fetch(base + "/slots", { headers: H });
  slots = await r.json();
  idle = slots.every((s) => !s.is_processing);
  if (!idle) await new Promise((r) => setTimeout(r, 50));
}
if (!idle) log("slots still busy: " + JSON.stringify(slots));
const m = await (await fetch(base + "/metrics", { headers: H })).text();
const cancelled = /cllm:requests_cancelled_total (\d+)/.exec(m);
console.log(`concurrency: ${N} clients, ${aborted} disconnected, ${failures} failures, ${Date.now() - t0} ms, cancelled ${cancelled ? cancelled[1] : "?"}`);
if (cancelled && parseInt(cancelled[1], 10) < aborted) log(`only ${cancelled[1]} cancellations for ${aborted} disconnects`);
process.exit(failures ? 1 : 0);
