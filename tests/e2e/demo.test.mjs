// The demo as a visitor uses it: drop a real radiograph, see the four transforms, train.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { OUT, canvasIsDrawn, launchBrowser, openPage, serveSite } from "./harness.mjs";

const SAMPLE = fileURLToPath(new URL("../../web/assets/samples/00000001_000.png", import.meta.url));

let site;
let browser;
before(async () => { site = await serveSite(); browser = await launchBrowser(); await mkdir(OUT, { recursive: true }); });
after(async () => { await browser?.close(); await site?.close(); });

test("a dropped radiograph is transformed and trained on, with no request after load", async () => {
  const { page, errors, requests } = await openPage(browser);
  await page.goto(`${site.url}/demo/index.html?backend=flex`);
  await page.waitForSelector("#gallery figure canvas", { timeout: 120_000 });
  await page.waitForFunction(() => document.getElementById("restore-neighbours").textContent !== ""
    || /could not|failed/i.test(document.getElementById("restore-status").textContent), null, { timeout: 120_000 });
  assert.match(await page.textContent("#restore-status"), /Restored in \d+ ms/);
  const loadedRequests = requests.length;

  await page.setInputFiles("#file-input", SAMPLE);
  await page.waitForFunction(() => document.getElementById("input-name").textContent.startsWith("00000001_000.png"));
  for (const kind of ["bezier", "shuffle", "inpaint", "outpaint"]) {
    const drawn = await page.$eval(`#gallery figure[data-kind="${kind}"] canvas`, canvasIsDrawn);
    assert.ok(drawn, `${kind} canvas is blank`);
  }
  assert.equal(await page.$$eval("#gallery figure[data-kind=pipeline]", (f) => f.length), 4);
  // A new draw repaints the same canvases with other samples and parameters.
  const drawing = () => page.$$eval("#gallery figure", (figs) => figs.map((f) =>
    [f.querySelector("canvas").toDataURL(), f.querySelector("small")?.textContent ?? ""]));
  const first = await drawing();
  await page.click("#new-draw");
  const second = await drawing();
  assert.equal(second.length, first.length);
  assert.equal(second[0][0], first[0][0], "the original changed");
  const redrawn = second.slice(1).filter(([png], i) => png !== first[i + 1][0]).length;
  assert.ok(redrawn >= first.length - 2, `only ${redrawn} of ${first.length - 1} tiles changed`);
  assert.notDeepEqual(second.map(([, p]) => p), first.map(([, p]) => p));

  await page.click("#train-start");
  await page.waitForFunction(() => Number(document.getElementById("train-steps").textContent) >= 24, null, { timeout: 180_000 });
  await page.click("#train-pause");
  const losses = await page.evaluate(() => document.getElementById("train-loss").textContent);
  assert.match(losses, /^\d/);
  const history = await page.evaluate(() => window.genesisLosses ?? []);
  assert.ok(history.length >= 20, `only ${history.length} losses recorded`);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(mean(history.slice(-6)) < mean(history.slice(0, 6)),
    `loss did not fall: ${history.slice(0, 6)} → ${history.slice(-6)}`);
  assert.match(await page.textContent("#train-backend-label"), /CPU \(Flex\)/);

  await page.screenshot({ path: `${OUT}/demo-trained.png`, fullPage: true });
  assert.deepEqual(errors, []);
  const outside = requests.filter((u) => !u.startsWith(site.url));
  assert.deepEqual(outside, []);
  const late = requests.slice(loadedRequests).filter((u) => !u.startsWith("blob:"));
  assert.deepEqual(late, [], "requests after load");
  await page.close();
});

test("a corrupt file gives a readable message and the page keeps working", async () => {
  const { page, errors } = await openPage(browser);
  await page.goto(`${site.url}/demo/index.html?backend=flex`);
  await page.waitForSelector("#gallery figure canvas", { timeout: 120_000 });
  await page.setInputFiles("#file-input", { name: "broken.png", mimeType: "image/png", buffer: Buffer.from("\x89PNG\r\n\x1a\nnot really") });
  await page.waitForSelector("#input-error:not([hidden])");
  assert.match(await page.textContent("#input-error"), /Could not open broken.png/);
  await page.click("[data-phantom]");
  await page.waitForFunction(() => document.getElementById("input-name").textContent.startsWith("synthetic phantom #1"));
  assert.deepEqual(errors, []);
  await page.close();
});
