// sdk_test.mjs: drives `cllm serve` with the official OpenAI and Anthropic
// SDKs (chat plain/streamed/tools/json_schema, completions, embeddings,
// responses plain/streamed, messages plain/streamed/tools, count_tokens).
// Usage: node sdk_test.mjs BASE_URL API_KEY [--no-embeddings]
// Module resolution: NODE_PATH is not used by ESM, so packages are loaded
// from the folder given in CLLM_NPM (node_modules parent).
import { createRequire } from "node:module";
import path from "node:path";

const [base, key, ...flags] = process.argv.slice(2);
const require = createRequire(path.join(process.env.CLLM_NPM, "node_modules", "x.js"));
const OpenAI = require("openai").default ?? require("openai");
const AnthropicMod = require("@anthropic-ai/sdk");
const Anthropic = AnthropicMod.default ?? AnthropicMod;

const openai = new OpenAI({ baseURL: base + "/v1", apiKey: key, maxRetries: 0, timeout: 120000 });
const anthropic = new Anthropic({ baseURL: base, apiKey: key, maxRetries: 0, timeout: 120000 });
const model = "test";
let pass = 0, fail = 0;

async function t(name, fn) {
  try {
    await fn();
    pass++;
    console.log("ok   " + name);
  } catch (e) {
    fail++;
    console.log("FAIL " + name + ": " + (e && e.stack ? e.stack.split("\n").slice(0, 3).join(" | ") : e));
  }
}
function assert(c, msg) { if (!c) throw new Error(msg); }

const weatherTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather of a city",
    parameters: { type: "object", properties: { city: { type: "string", enum: ["Paris", "Tokyo"] } }, required: ["city"] },
  },
};

await t("chat plain", async () => {
  const r = await openai.chat.completions.create({ model, messages: [{ role: "user", content: "Hello" }], max_tokens: 12, temperature: 0 });
  assert(r.object === "chat.completion", "object " + r.object);
  assert(typeof r.choices[0].message.content === "string", "content");
  assert(r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0, "usage " + JSON.stringify(r.usage));
  assert(r.usage.total_tokens === r.usage.prompt_tokens + r.usage.completion_tokens, "total");
  assert(["stop", "length"].includes(r.choices[0].finish_reason), "finish " + r.choices[0].finish_reason);
});

await t("chat streamed + include_usage", async () => {
  const s = await openai.chat.completions.create({ model, messages: [{ role: "user", content: "Tell a story" }], max_tokens: 16, stream: true, stream_options: { include_usage: true }, temperature: 0 });
  let text = "", usage = null, finish = null, chunks = 0;
  for await (const c of s) {
    chunks++;
    if (c.usage) usage = c.usage;
    if (c.choices.length) { text += c.choices[0].delta.content ?? ""; finish = c.choices[0].finish_reason ?? finish; }
  }
  assert(chunks >= 3, "chunks " + chunks);
  assert(usage && usage.completion_tokens > 0, "usage");
  assert(finish, "finish_reason");
  // the same request non-streamed gives the same text (greedy)
  const r = await openai.chat.completions.create({ model, messages: [{ role: "user", content: "Tell a story" }], max_tokens: 16, temperature: 0 });
  assert(r.choices[0].message.content === text, JSON.stringify([r.choices[0].message.content, text]));
});

await t("chat n=2 + seed + logprobs", async () => {
  const r = await openai.chat.completions.create({ model, messages: [{ role: "user", content: "Hi" }], max_tokens: 5, n: 2, seed: 42, logprobs: true, top_logprobs: 2 });
  assert(r.choices.length === 2, "choices");
  const lp = r.choices[0].logprobs.content;
  assert(lp.length > 0 && lp[0].top_logprobs.length === 2 && lp[0].logprob <= 0, JSON.stringify(lp[0]));
});

await t("chat tools (required)", async () => {
  const r = await openai.chat.completions.create({ model, messages: [{ role: "user", content: "Weather in Paris?" }], tools: [weatherTool], tool_choice: "required", max_tokens: 250 });
  const tc = r.choices[0].message.tool_calls;
  assert(r.choices[0].finish_reason === "tool_calls", "finish " + r.choices[0].finish_reason + " " + JSON.stringify(r.choices[0].message));
  assert(tc && tc.length >= 1 && tc[0].function.name === "get_weather", JSON.stringify(tc));
  const args = JSON.parse(tc[0].function.arguments);
  assert(["Paris", "Tokyo"].includes(args.city), tc[0].function.arguments);
});

await t("chat tools streamed (named)", async () => {
  const s = await openai.chat.completions.create({ model, messages: [{ role: "user", content: "Weather?" }], tools: [weatherTool], tool_choice: { type: "function", function: { name: "get_weather" } }, max_tokens: 250, stream: true });
  let name = "", args = "", finish = null;
  for await (const c of s) {
    const d = c.choices[0]?.delta;
    for (const tc of d?.tool_calls ?? []) { name += tc.function?.name ?? ""; args += tc.function?.arguments ?? ""; }
    finish = c.choices[0]?.finish_reason ?? finish;
  }
  assert(name === "get_weather" && finish === "tool_calls", name + " " + finish);
  JSON.parse(args);
});

await t("chat json_schema", async () => {
  const schema = { type: "object", properties: { answer: { type: "integer" }, mood: { type: "string", enum: ["happy", "sad"] } }, required: ["answer", "mood"], additionalProperties: false };
  const r = await openai.chat.completions.create({ model, messages: [{ role: "user", content: "JSON please" }], max_tokens: 250, response_format: { type: "json_schema", json_schema: { name: "x", schema, strict: true } } });
  const v = JSON.parse(r.choices[0].message.content);
  assert(Number.isInteger(v.answer) && ["happy", "sad"].includes(v.mood), r.choices[0].message.content);
});

await t("completions (+echo, logprobs, stop)", async () => {
  const r = await openai.completions.create({ model, prompt: "Once upon a time", max_tokens: 8, temperature: 0, echo: true, logprobs: 2 });
  assert(r.object === "text_completion", r.object);
  assert(r.choices[0].text.startsWith("Once upon a time"), r.choices[0].text);
  // with echo the prompt tokens come first, the first without a log-prob
  const lp = r.choices[0].logprobs;
  assert(lp.tokens.length === r.usage.prompt_tokens + r.usage.completion_tokens, JSON.stringify(lp).slice(0, 200));
  assert(lp.token_logprobs[0] === null && lp.token_logprobs.slice(1).every((v) => v <= 0), JSON.stringify(lp.token_logprobs));
  const s = await openai.completions.create({ model, prompt: [1, 2, 3], max_tokens: 4, stream: true });
  let n = 0;
  for await (const c of s) n += c.choices.length;
  assert(n >= 1, "stream chunks");
});

if (!flags.includes("--no-embeddings")) {
  await t("embeddings float + base64", async () => {
    const r = await openai.embeddings.create({ model, input: ["hello", "world"] });
    assert(r.data.length === 2 && r.data[0].embedding.length > 0, "shape");
    const norm = Math.sqrt(r.data[0].embedding.reduce((a, x) => a + x * x, 0));
    assert(Math.abs(norm - 1) < 1e-3, "norm " + norm);
    const b = await openai.embeddings.create({ model, input: "hello", encoding_format: "base64" });
    const buf = Buffer.from(b.data[0].embedding, "base64");
    const f = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
    assert(f.length === r.data[0].embedding.length, "base64 decoded length " + f.length);
    assert(Math.abs(f[0] - r.data[0].embedding[0]) < 1e-6, "same vector");
  });
}

await t("responses plain", async () => {
  const r = await openai.responses.create({ model, input: "Hello", instructions: "Be brief", max_output_tokens: 12 });
  assert(r.object === "response" && typeof r.output_text === "string", JSON.stringify(r).slice(0, 200));
  assert(r.usage.input_tokens > 0 && r.usage.output_tokens > 0, "usage");
});

await t("responses streamed", async () => {
  const s = await openai.responses.create({ model, input: [{ role: "user", content: "Hi there" }], max_output_tokens: 12, stream: true });
  let text = "", done = null;
  for await (const e of s) {
    if (e.type === "response.output_text.delta") text += e.delta;
    if (e.type === "response.completed") done = e.response;
  }
  const final = done && done.output.find((o) => o.type === "message").content[0].text;
  assert(done && ["completed", "incomplete"].includes(done.status) && final === text, JSON.stringify([text, final]));
});

await t("responses tools", async () => {
  const r = await openai.responses.create({ model, input: "Weather in Tokyo?", tools: [{ type: "function", ...weatherTool.function }], tool_choice: "required", max_output_tokens: 250 });
  const fc = r.output.find((o) => o.type === "function_call");
  assert(fc && fc.name === "get_weather", JSON.stringify(r.output));
  JSON.parse(fc.arguments);
});

await t("messages plain", async () => {
  const m = await anthropic.messages.create({ model, max_tokens: 12, system: "You are terse.", messages: [{ role: "user", content: "Hello" }] });
  assert(m.type === "message" && m.role === "assistant", JSON.stringify(m).slice(0, 200));
  assert(m.content[0].type === "text", JSON.stringify(m.content));
  assert(["end_turn", "max_tokens"].includes(m.stop_reason), m.stop_reason);
  assert(m.usage.output_tokens > 0, "usage");
});

await t("messages streamed", async () => {
  const s = anthropic.messages.stream({ model, max_tokens: 12, messages: [{ role: "user", content: "Hello" }] });
  let text = "";
  s.on("text", (d) => { text += d; });
  const m = await s.finalMessage();
  assert(m.content[0].text === text, JSON.stringify([m.content, text]));
  assert(m.usage.output_tokens > 0, "usage");
});

const anthTool = { name: "get_weather", description: "Weather of a city", input_schema: weatherTool.function.parameters };
await t("messages tools (any) + tool_result round trip", async () => {
  const m = await anthropic.messages.create({ model, max_tokens: 250, tools: [anthTool], tool_choice: { type: "any" }, messages: [{ role: "user", content: "Weather in Paris?" }] });
  const tu = m.content.find((b) => b.type === "tool_use");
  assert(m.stop_reason === "tool_use" && tu && tu.name === "get_weather" && typeof tu.input === "object", JSON.stringify(m.content));
  const m2 = await anthropic.messages.create({ model, max_tokens: 8, tools: [anthTool], messages: [
    { role: "user", content: "Weather in Paris?" },
    { role: "assistant", content: m.content },
    { role: "user", content: [{ type: "tool_result", tool_use_id: tu.id, content: "sunny" }] }] });
  assert(m2.type === "message", "second turn");
});

await t("messages tools streamed", async () => {
  const s = anthropic.messages.stream({ model, max_tokens: 250, tools: [anthTool], tool_choice: { type: "tool", name: "get_weather" }, messages: [{ role: "user", content: "Weather?" }] });
  const m = await s.finalMessage();
  const tu = m.content.find((b) => b.type === "tool_use");
  assert(tu && tu.name === "get_weather" && ["Paris", "Tokyo"].includes(tu.input.city), JSON.stringify(m.content));
});

await t("count_tokens", async () => {
  const c = await anthropic.messages.countTokens({ model, messages: [{ role: "user", content: "Hello there" }] });
  assert(c.input_tokens > 0, JSON.stringify(c));
});

await t("errors through the SDKs", async () => {
  let st = 0;
  try { await openai.chat.completions.create({ model, messages: [] }); } catch (e) { st = e.status; }
  assert(st === 400, "openai 400, got " + st);
  st = 0;
  const bad = new OpenAI({ baseURL: base + "/v1", apiKey: "wrong", maxRetries: 0 });
  try { await bad.models.list(); } catch (e) { st = e.status; }
  assert(st === 401, "openai 401, got " + st);
  st = 0;
  try { await anthropic.messages.create({ model, max_tokens: 5, messages: [{ role: "bogus", content: "x" }] }); } catch (e) { st = e.status; assert(e.error?.type === "error", JSON.stringify(e.error)); }
  assert(st === 400, "anthropic 400, got " + st);
});

await t("models list", async () => {
  const l = await openai.models.list();
  assert(l.data.length === 1 && l.data[0].id, JSON.stringify(l.data));
});

console.log(`sdk: ${pass} passed, ${fail} failed`);
process.exit(fail ? 1 : 0);
