// The 3-D panel as a visitor uses it: drop a real MR volume (nibabel's test data), a MetaImage
// header with its data file, or use the synthetic CT; see three planes and the 3-D transforms.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { OUT, SITE, canvasIsDrawn, launchBrowser, openPage, serveSite } from "./harness.mjs";

const MR = fileURLToPath(new URL("../../crates/genesis-io/tests/data/nifti/anatomical.nii", import.meta.url));
const SERIES = fileURLToPath(new URL("../../crates/genesis-io/tests/data/dicom-series/mr1", import.meta.url));

let site;
let browser;
before(async () => { site = await serveSite(); browser = await launchBrowser(); await mkdir(OUT, { recursive: true }); });
after(async () => { await browser?.close(); await site?.close(); });

/** A 70×70×40 MetaImage (`.mhd` + `.raw`, float32): a bright ball in a dark box. */
function metaImagePair() {
  const [nx, ny, nz] = [70, 70, 40];
  const values = new Float32Array(nx * ny * nz);
  for (let z = 0; z < nz; z++) for (let y = 0; y < ny; y++) for (let x = 0; x < nx; x++) {
    const r = Math.hypot(x - 35, y - 35, (z - 20) * 2);
    values[x + nx * (y + ny * z)] = r < 20 ? 100 + r : 0;
  }
  const header = ["ObjectType = Image", "NDims = 3", `DimSize = ${nx} ${ny} ${nz}`,
    "ElementType = MET_FLOAT", "ElementSpacing = 1 1 2", "BinaryDataByteOrderMSB = False",
    "ElementDataFile = ball.raw", ""].join("\n");
  return [
    { name: "ball.mhd", mimeType: "text/plain", buffer: Buffer.from(header) },
    { name: "ball.raw", mimeType: "application/octet-stream", buffer: Buffer.from(values.buffer) },
  ];
}

async function expectVolume(page, name, shape) {
  await page.waitForFunction((n) => document.getElementById("volume-name").textContent.startsWith(n), name);
  assert.match(await page.textContent("#volume-name"), new RegExp(`${shape} voxels`));
  for (const axis of [0, 1, 2]) assert.ok(await page.$eval(`#plane-${axis}`, canvasIsDrawn), `plane ${axis} is blank`);
  const kinds = await page.$$eval("#cube-gallery figure", (f) => f.map((x) => x.dataset.kind));
  for (const kind of ["original", "shuffle", "bezier", "inpaint", "outpaint", "pipeline"]) {
    assert.ok(kinds.includes(kind), `no ${kind} tile in ${kinds}`);
  }
  const captions = await page.$$eval("#cube-gallery figure small", (s) => s.map((x) => x.textContent));
  assert.ok(captions.slice(1).every((c) => c.length > 0), "a 3-D draw without parameters");
}

test("a dropped MR volume shows three planes and the 3-D transforms on a cube", async () => {
  const { page, errors } = await openPage(browser);
  await page.goto(`${site.url}/demo/index.html?backend=flex`);
  await page.waitForSelector("#gallery figure canvas", { timeout: 120_000 });
  await page.setInputFiles("#file-input", MR);
  await expectVolume(page, "anatomical.nii", "33×41×25");
  assert.match(await page.textContent("#volume-name"), /min–max/);
  assert.match(await page.textContent("#cube-status"), /cube from voxel \(-15, -11, -3\)/);
  // Another slice of the cube and another seed repaint the tiles.
  const tiles = () => page.$$eval("#cube-gallery canvas", (c) => c.map((x) => x.toDataURL()));
  const first = await tiles();
  await page.fill("#cube-slice", "5");
  await page.dispatchEvent("#cube-slice", "input");
  assert.notDeepEqual(await tiles(), first);
  await page.screenshot({ path: `${OUT}/volume-mr.png`, fullPage: true });

  await page.setInputFiles("#file-input", metaImagePair());
  await expectVolume(page, "2 files", "70×70×40");
  await page.click("#volume-phantom");
  await expectVolume(page, "synthetic chest CT #1", "192×192×56");
  assert.match(await page.textContent("#volume-name"), /window -1000…1000/);
  await page.screenshot({ path: `${OUT}/volume-ct.png`, fullPage: true });

  await page.setInputFiles("#file-input", [metaImagePair()[0]]);
  await page.waitForSelector("#input-error:not([hidden])");
  assert.match(await page.textContent("#input-error"), /its data are in ball.raw: give that file together with it/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("a chosen folder opens as one volume; a folder of several DICOM series is explained", async () => {
  const { page, errors } = await openPage(browser);
  await page.goto(`${site.url}/demo/index.html?backend=flex`);
  await page.waitForSelector("#gallery figure canvas", { timeout: 120_000 });
  // A folder holding a MetaImage pair and the clutter of a file browser (skipped).
  const folder = await mkdtemp(join(tmpdir(), "genesis-folder-"));
  for (const f of metaImagePair()) await writeFile(join(folder, f.name), f.buffer);
  await writeFile(join(folder, ".DS_Store"), "clutter");
  await page.setInputFiles("#folder-input", folder);
  await expectVolume(page, "2 files", "70×70×40");
  // pydicom's MR1 folder: three one-slice localizer series.
  await page.setInputFiles("#folder-input", SERIES);
  await page.waitForSelector("#input-error:not([hidden])");
  assert.match(await page.textContent("#input-error"), /3 DICOM series in this folder/);
  await rm(folder, { recursive: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test("the 3-D model restores a cube, and a visitor's own weights replace the shipped ones", async () => {
  const { page, errors } = await openPage(browser);
  await page.goto(`${site.url}/demo/index.html?backend=flex`);
  await page.waitForSelector("#gallery figure canvas", { timeout: 120_000 });
  await page.click("#volume-phantom");
  await page.waitForFunction(() => /Restored the 64×64×32 cube in \d+ ms/.test(
    document.getElementById("cube-restore-status").textContent), null, { timeout: 120_000 });
  const panes = await page.$$eval("#cube-restore-view figure", (f) => f.map((x) => x.textContent));
  assert.equal(panes.length, 3);
  assert.match(panes[0], /PSNR [\d.]+ dB/);
  assert.match(panes[1], /PSNR [\d.]+ dB \([+-][\d.]+ dB\) · MSE/);
  for (const canvas of await page.$$("#cube-restore-view canvas")) assert.ok(await canvas.evaluate(canvasIsDrawn));
  await page.screenshot({ path: `${OUT}/volume-restored.png`, fullPage: true });

  // Own weights: a 2-D .bpk replaces the image's restorer, a 3-D one the cube's; .pt is explained.
  const model = (name) => `${SITE}/demo/assets/model/${name}`;
  await page.setInputFiles("#weights-input", { name: "mine.bpk", mimeType: "application/octet-stream", buffer: await readFile(model("restorer.bpk")) });
  await page.waitForFunction(() => /^mine\.bpk: 2-D U-Net, base \d+/.test(document.getElementById("weights-status").textContent), null, { timeout: 60_000 });
  await page.waitForFunction(() => /by mine\.bpk/.test(document.getElementById("restore-status").textContent), null, { timeout: 60_000 });
  await page.setInputFiles("#weights-input", { name: "mine3d.bpk", mimeType: "application/octet-stream", buffer: await readFile(model("restorer3d.bpk")) });
  await page.waitForFunction(() => /^mine3d\.bpk: 3-D U-Net/.test(document.getElementById("weights-status").textContent), null, { timeout: 60_000 });
  assert.match(await page.textContent("#weights-keys summary"), /Key report: \d+ tensors loaded,\s+0 unused/);
  assert.match(await page.textContent("#weights-loaded"), /down_tr64\.ops\.0\.conv1\.weight/);
  await page.waitForFunction(() => /by mine3d\.bpk/.test(document.getElementById("cube-restore-status").textContent), null, { timeout: 120_000 });
  await page.setInputFiles("#weights-input", { name: "Genesis_Chest_CT.pt", mimeType: "application/octet-stream", buffer: Buffer.from("PK\x03\x04 not really") });
  await page.waitForFunction(() => /Could not use Genesis_Chest_CT\.pt: .*genesis import/.test(document.getElementById("weights-status").textContent));
  assert.deepEqual(errors, []);
  await page.close();
});
