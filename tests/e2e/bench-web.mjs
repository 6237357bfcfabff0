// `make bench-web`: measures the demo in headless Chromium on the CPU (Flex) backend and
// prints one JSON object. Timings come from the page's own displays, as a visitor sees them.
import { readFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { SITE, launchBrowser, openPage, serveSite } from "./harness.mjs";

const number = (text) => Number((text.match(/[\d.]+/) ?? ["NaN"])[0]);

const site = await serveSite();
const browser = await launchBrowser();
try {
  const { page } = await openPage(browser);
  await page.goto(`${site.url}/demo/index.html?backend=flex`);
  // The paint entry may be recorded after `load`: wait for it (buffered), at most 10 s.
  const paint = await page.evaluate(() => new Promise((resolve) => {
    const entry = () => performance.getEntriesByName("first-contentful-paint")[0];
    if (entry()) return resolve(entry().startTime);
    new PerformanceObserver(() => entry() && resolve(entry().startTime)).observe({ type: "paint", buffered: true });
    setTimeout(() => resolve(null), 10_000);
  }));
  // Measure an idle page: the models loaded and the first restoration and embeddings done.
  await page.waitForFunction(() => document.getElementById("restore-neighbours").textContent !== "", null, { timeout: 120_000 });
  /** Clicks `button` and waits until the text of `status` changes; returns the new text. */
  const clickAndWait = async (button, status) => {
    const before = await page.textContent(status);
    await page.click(button);
    await page.waitForFunction(([s, b]) => document.querySelector(s).textContent !== b && !/…$/.test(document.querySelector(s).textContent),
      [status, before], { timeout: 120_000 });
    return page.textContent(status);
  };

  const transformMs = [];
  for (let i = 0; i < 5; i++) {
    await page.click("#new-draw");
    transformMs.push(number(await page.textContent("#transform-time")));
  }
  const inferMs = [];
  for (let i = 0; i < 3; i++) inferMs.push(number(await clickAndWait("#restore-button", "#restore-status")));

  const cubeRestored = () => page.waitForFunction(() => /^Restored the/.test(document.getElementById("cube-restore-status").textContent), null, { timeout: 120_000 });
  await page.click("#volume-phantom");
  await cubeRestored();
  const cubeMs = [];
  for (let i = 0; i < 5; i++) {
    await page.click("#cube-button");
    cubeMs.push(await page.evaluate(() => window.genesisCubeMs));
    await cubeRestored();
  }
  const cubeDraws = await page.$$eval("#cube-gallery figure", (f) => f.length - 1);
  const restoreCubeMs = [];
  for (let i = 0; i < 3; i++) {
    restoreCubeMs.push(number((await clickAndWait("#cube-restore", "#cube-restore-status")).replace("64×64×32", "")));
  }
  // A weights file as a visitor drops it: read with progress, loaded in the worker.
  const weightsFile = join(SITE, "demo", "assets", "model", "restorer3d.bpk");
  const loadStart = Date.now();
  await page.setInputFiles("#weights-input", weightsFile);
  await page.waitForFunction(() => /^restorer3d\.bpk: .* loaded in \d+ ms/.test(document.getElementById("weights-status").textContent), null, { timeout: 120_000 });
  const weightsLoadMs = Date.now() - loadStart;
  const weightsBytes = (await readFile(weightsFile)).length;
  await cubeRestored();
  await page.click("#train-start");
  await page.waitForFunction(() => Number(document.getElementById("train-steps").textContent) >= 20, null, { timeout: 300_000 });
  const stepsPerSecond = number(await page.textContent("#train-speed"));
  await page.click("#train-pause");

  const wasm = await readFile(join(SITE, "demo", "genesis-web_bg.wasm"));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(JSON.stringify({
    backend: "flex",
    first_contentful_paint_ms: paint,
    transforms_224_ms: median(transformMs),
    inference_224_ms: median(inferMs),
    cube_3d_draws: cubeDraws,
    cube_3d_all_draws_ms: median(cubeMs),
    cube_3d_ms_per_draw: median(cubeMs) / cubeDraws,
    cube_3d_restoration_ms: median(restoreCubeMs),
    weights_file_bytes: weightsBytes,
    weights_file_load_ms: weightsLoadMs,
    train_steps_per_second: stepsPerSecond,
    train_batch: "4 × 64×64",
    wasm_bytes: wasm.length,
    wasm_gzip_bytes: gzipSync(wasm, { level: 9 }).length,
    targets: { transforms_224_ms: 20, cube_3d_ms_per_draw: 20, cube_3d_restoration_ms: 1500, inference_224_ms: 300, train_steps_per_second: 2, first_contentful_paint_ms: 2000, wasm_gzip_bytes: 8_000_000 },
  }, null, 2));
} finally {
  await browser.close();
  await site.close();
}
