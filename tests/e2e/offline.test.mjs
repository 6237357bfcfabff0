// Offline: after one visit the service worker serves the page, the wasm engine, the worker and
// the shipped weights with the network off and the server gone.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { OUT, launchBrowser, openPage, serveSite } from "./harness.mjs";

let site;
let browser;
before(async () => { site = await serveSite(); browser = await launchBrowser(); await mkdir(OUT, { recursive: true }); });
after(async () => { await browser?.close(); await site?.close(); });

test("the page reloads and works with the network off after one visit", async () => {
  const { page, errors, requests } = await openPage(browser);
  await page.goto(`${site.url}/demo/index.html?backend=flex`);
  await page.waitForFunction(() => window.genesisOffline === true, null, { timeout: 120_000 });
  assert.match(await page.textContent("#privacy"), /Nothing you open\s+here is uploaded/);
  await page.waitForFunction(() => /Restored in/.test(document.getElementById("restore-status").textContent),
    null, { timeout: 120_000 });

  await page.context().setOffline(true);
  await site.close();
  site = null;
  const before = requests.length;
  await page.reload();
  await page.waitForSelector("#gallery figure canvas", { timeout: 120_000 });
  await page.waitForFunction(() => /Restored in/.test(document.getElementById("restore-status").textContent),
    null, { timeout: 120_000 });
  await page.click("#volume-phantom");
  await page.waitForSelector("#cube-gallery figure canvas", { timeout: 60_000 });
  await page.click("#train-start");
  await page.waitForFunction(() => Number(document.getElementById("train-steps").textContent) >= 4, null, { timeout: 120_000 });
  await page.click("#train-pause");
  assert.ok(requests.length > before, "the reload made no requests at all");
  await page.screenshot({ path: `${OUT}/offline.png`, fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});
