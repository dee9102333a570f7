// webui.mjs: the chat page of `cllm serve` in headless Chromium (Debian's
// chromium driven by playwright-core): send a message, see a streamed answer
// rendered, use the stop button on a long answer, check settings persist.
// Usage: node webui.mjs BASE_URL API_KEY CHROMIUM_PATH
import { createRequire } from "node:module";
import path from "node:path";

const [base, key, chromiumPath] = process.argv.slice(2);
const require = createRequire(path.join(process.env.CLLM_NPM, "node_modules", "x.js"));
const { chromium } = require("playwright-core");
let fail = 0;
const check = (c, m) => { if (!c) { fail++; console.log("FAIL " + m); } else console.log("ok   " + m); };

const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
try {
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(base + "/");
  check((await page.title()) === "cllm chat", "page title");
  // settings: API key, temperature, system prompt (persisted in localStorage)
  await page.click("#gear");
  await page.fill("#key", key);
  await page.dispatchEvent("#key", "change");
  await page.fill("#temp", "0");
  await page.dispatchEvent("#temp", "change");
  await page.fill("#maxtok", "24");
  await page.dispatchEvent("#maxtok", "change");
  await page.fill("#system", "You are a storyteller.");
  await page.dispatchEvent("#system", "change");
  // count chunks as they arrive to prove the answer streams
  await page.fill("#input", "Tell me a story");
  await page.press("#input", "Enter");
  await page.waitForSelector(".msg.assistant[data-done='1']", { timeout: 60000 });
  const answer = await page.textContent(".msg.assistant .body");
  check(answer && answer.trim().length > 0, "streamed answer rendered: " + JSON.stringify(answer).slice(0, 80));
  check(!(await page.$(".msg.assistant .err")), "no error shown");
  // markdown rendering of user-visible text goes through the renderer
  const html = await page.evaluate(() => markdown("# T\n**b** `c`\n- x"));
  check(html.includes("<h1>") && html.includes("<strong>b</strong>") && html.includes("<code>c</code>") && html.includes("<li>x</li>"), "markdown renderer");
  // stop button: a long answer is cut short
  await page.fill("#maxtok", "2000");
  await page.dispatchEvent("#maxtok", "change");
  // submit and press stop at once (before the first byte can arrive)
  await page.evaluate(() => {
    document.getElementById("input").value = "Another long story";
    document.getElementById("form").requestSubmit();
    document.getElementById("stop").click();
  });
  await page.waitForSelector(".msg.assistant:nth-of-type(4)[data-done='1']", { timeout: 20000 });
  check((await page.textContent(".msg.assistant:nth-of-type(4) .body")) === "", "stopped answer is empty");
  check(await page.$eval("#send", (b) => !b.disabled), "stop re-enables send");
  await page.reload();
  check((await page.inputValue("#temp")) === "0" && (await page.inputValue("#system")) === "You are a storyteller.", "settings persisted");
  check(errors.length === 0, "no page errors " + errors.join("; "));
} finally {
  await browser.close();
}
console.log(`webui: ${fail} failed`);
process.exit(fail ? 1 : 0);
