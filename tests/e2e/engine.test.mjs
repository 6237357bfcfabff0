// The demo page loads the wasm engine, reports its backend and computes a real convolution,
// both forced to WebGPU (SwiftShader here) and forced to the CPU (Flex) backend.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { OUT, launchBrowser, openPage, serveSite } from "./harness.mjs";

let site;
let browser;
before(async () => { site = await serveSite(); browser = await launchBrowser(); await mkdir(OUT, { recursive: true }); });
after(async () => { await browser?.close(); await site?.close(); });

for (const [backend, label] of [["flex", /^CPU \(Flex\)$/], ["webgpu", /^WebGPU: /]]) {
  test(`engine starts on ${backend} and computes the check convolution`, async () => {
    const { page, errors, requests } = await openPage(browser);
    await page.goto(`${site.url}/demo/index.html?backend=${backend}`);
    await page.waitForFunction(() => !document.getElementById("status").textContent.startsWith("Start")
      && !document.getElementById("status").textContent.startsWith("Loading"), null, { timeout: 120_000 });
    assert.equal(await page.textContent("#status"), "Ready");
    assert.match(await page.textContent("#backend"), label);
    assert.match(await page.textContent("#conv-result"), /= \[54, 63, 72, 99, 108, 117, 144, 153, 162\] ✓ correct/);
    await page.screenshot({ path: `${OUT}/engine-${backend}.png`, fullPage: true });
    assert.deepEqual(errors, []);
    assert.deepEqual(requests.filter((u) => !u.startsWith(site.url)), []);
    await page.close();
  });
}
