// `node tests/e2e/bench-weights.mjs WEIGHTS.bpk`: drops a weights file (e.g. the released
// 19 M-parameter 3-D U-Net, 76 MB) on the demo in headless Chromium (Flex) and prints JSON: how
// long reading and loading took, the slowest answer of the page's main thread meanwhile (the
// load runs in a worker, so the page stays responsive), and one 3-D restoration with it.
import { basename, resolve } from "node:path";
import { launchBrowser, openPage, serveSite } from "./harness.mjs";

const file = resolve(process.argv[2] ?? "");
const name = basename(file).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const site = await serveSite();
const browser = await launchBrowser();
try {
  const { page, errors } = await openPage(browser);
  await page.goto(`${site.url}/demo/index.html?backend=flex`);
  await page.waitForFunction(() => document.getElementById("restore-neighbours").textContent !== "", null, { timeout: 120_000 });
  await page.click("#volume-phantom");
  await page.waitForFunction(() => /^Restored the/.test(document.getElementById("cube-restore-status").textContent), null, { timeout: 120_000 });
  const start = Date.now();
  let done = false;
  const loaded = page.waitForFunction((n) => new RegExp(`^${n}: .* loaded in \\d+ ms|^Could not`)
    .test(document.getElementById("weights-status").textContent), name, { timeout: 300_000, polling: 20 })
    .then(() => { done = true; });
  await page.setInputFiles("#weights-input", file);
  let slowest = 0;
  while (!done) {
    const asked = Date.now();
    await page.evaluate(() => 1);
    slowest = Math.max(slowest, Date.now() - asked);
    await new Promise((r) => setTimeout(r, 20));
  }
  await loaded;
  const loadMs = Date.now() - start;
  const status = await page.textContent("#weights-status");
  const restored = await page.waitForFunction((n) => new RegExp(`by ${n}`)
    .test(document.getElementById("cube-restore-status").textContent), name, { timeout: 600_000 })
    .then(() => page.textContent("#cube-restore-status"), (e) => String(e));
  console.log(JSON.stringify({ file, status, read_and_load_ms: loadMs, slowest_main_thread_answer_ms: slowest,
    cube_restoration: restored, console_errors: errors }, null, 2));
} finally {
  await browser.close();
  await site.close();
}
