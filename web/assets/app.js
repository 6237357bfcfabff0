// The demo page: input handling and wiring of the panels. All computation is in the wasm
// module (genesis_web); training runs in a worker (worker.js).
import init, { Engine, convDemoExpected, GrayImage, Scan } from "../genesis-web.js";
import { drawImage } from "./draw.js";
import { renderGallery } from "./gallery.js";
import { Models } from "./models.js";
import { RestorePanel } from "./restore.js";
import { TrainingPanel } from "./training.js";
import { VolumePanel } from "./volume.js";

/** Side of the square images the demo works on. */
export const SIZE = 224;
/** Drops larger than this (all files together) are refused before decoding. */
const MAX_DROP_BYTES = 512 * 1024 * 1024;

const $ = (id) => document.getElementById(id);
const state = { image: null, name: "" };
let models;
let restorePanel;
let trainingPanel;
let volumePanel;

function backendParam() {
  return new URLSearchParams(location.search).get("backend") || "auto";
}

function showError(message) {
  const el = $("input-error");
  el.textContent = message;
  el.hidden = !message;
}

/** Makes `image` the current image and refreshes every panel that shows it. */
function useImage(image, name) {
  state.image?.free();
  state.image = image;
  state.name = name;
  showError("");
  $("input-name").textContent = `${name} — ${image.width}×${image.height}`;
  drawImage($("input-canvas"), image.width, image.height, image.rgba());
  redrawGallery();
  restorePanel?.setImage(image, name);
  trainingPanel?.addImage(image, name);
}

/** Opens dropped files: a 2-D image goes to the image panels, a volume (one file, a .mhd with
 * its data file, or the slices of a DICOM series) to the 3-D panel. */
async function openFiles(files) {
  const total = files.reduce((n, f) => n + f.bytes.byteLength, 0);
  const label = labelOf(files);
  try {
    const joined = new Uint8Array(total);
    let at = 0;
    for (const f of files) { joined.set(new Uint8Array(f.bytes), at); at += f.bytes.byteLength; }
    const scan = Scan.decode(files.map((f) => f.name), files.map((f) => f.bytes.byteLength), joined);
    if (scan.shape()[2] > 1) {
      showError("");
      volumePanel.use(scan, label);
      $("volume-title").scrollIntoView({ behavior: "smooth" });
      return;
    }
    scan.free();
    useImage(GrayImage.decode(files[0].name, joined, SIZE), files[0].name);
  } catch (err) {
    showError(`Could not open ${label}: ${err.message ?? err}. Use a PNG, JPEG or DICOM image, ` +
      "or a NIfTI, MetaImage, NPY volume or all slices of one DICOM series.");
  }
}

async function openBytes(name, bytes) {
  await openFiles([{ name, bytes }]);
}

/** Weights files (dropped or chosen) go to the models, not to the image panels. */
const WEIGHTS = /\.(bpk|safetensors|pt|pth)$/i;

async function openWeights(file) {
  const status = $("weights-status");
  $("weights-keys").hidden = true;
  try {
    const info = await models.loadFile(file, (f) => { status.textContent = `Reading ${file.name}: ${(100 * f).toFixed(0)}%…`; });
    status.textContent = `${file.name}: ${info.summary}, loaded in ${info.ms.toFixed(0)} ms on ${info.backend}. ` +
      `It now restores ${info.dims === 3 ? "the 3-D cube" : "the image"}.${info.notice ? ` ${info.notice}` : ""}`;
    showKeys(info);
    $(info.dims === 3 ? "volume-title" : "restore-title").scrollIntoView({ behavior: "smooth" });
  } catch (err) {
    status.textContent = `Could not use ${file.name}: ${err.message ?? err}`;
  }
}

/** The key report of loaded weights: which tensors went into the network, which were unused. */
function showKeys({ loaded, unused }) {
  $("weights-loaded-count").textContent = loaded.length;
  $("weights-unused-count").textContent = unused.length;
  $("weights-loaded").textContent = loaded.join("\n");
  $("weights-unused").textContent = unused.length ? unused.join("\n") : "(none)";
  $("weights-keys").hidden = false;
}

/** How messages name `files`: the file's name, or how many there are. */
const labelOf = (files) => files.length === 1 ? files[0].name : `${files.length} files`;

/** Files a folder holds that are not slices: hidden files, DICOMDIR indexes, thumbnails. */
const CLUTTER = /^(\.|dicomdir$|thumbs\.db$|desktop\.ini$)/i;

/** The files of a drop, dropped folders walked (a DICOM series often comes as a folder). The
 * entries are taken at once: a drop's items are readable only during its event. */
function droppedFiles(dataTransfer) {
  const entries = [...(dataTransfer?.items ?? [])].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  const plain = [...(dataTransfer?.files ?? [])];
  if (!entries.some((e) => e.isDirectory)) return Promise.resolve(plain);
  return (async () => {
    const files = [];
    for (const entry of entries) await walk(entry, files);
    return files;
  })();
}

/** Adds the files under `entry` (a file or a folder, recursively) to `files`. */
async function walk(entry, files) {
  if (entry.isFile) {
    files.push(await new Promise((ok, fail) => entry.file(ok, fail)));
    return;
  }
  const reader = entry.createReader();
  for (;;) {
    const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
    if (!batch.length) return;
    for (const child of batch) await walk(child, files);
  }
}

/** Opens chosen or dropped files: weights go to the models; the rest, clutter skipped and the
 * size checked before anything is read, to `openFiles`. */
async function openFileList(all) {
  const list = [...all].filter((f) => !CLUTTER.test(f.name));
  const weights = list.find((f) => WEIGHTS.test(f.name));
  if (weights) return openWeights(weights);
  const total = list.reduce((n, f) => n + f.size, 0);
  if (total > MAX_DROP_BYTES) {
    showError(`${labelOf(list)}: ${(total / 1e6).toFixed(0)} MB; the page takes at most ${MAX_DROP_BYTES / 1e6} MB.`);
    return;
  }
  const files = [];
  for (const file of list) files.push({ name: file.name, bytes: await file.arrayBuffer() });
  if (files.length) await openFiles(files);
}

/** The preset and seed chosen in the transforms panel (the 3-D cube uses them too). */
function drawOptions() {
  return { preset: $("preset").value, seed: Math.max(0, Math.floor(Number($("seed").value) || 0)) };
}

function redrawAll() {
  redrawGallery();
  volumePanel?.drawCube();
}

function redrawGallery() {
  if (!state.image) return;
  const { preset, seed } = drawOptions();
  const t0 = performance.now();
  renderGallery($("gallery"), state.image, preset, seed);
  $("transform-time").textContent = `${(performance.now() - t0).toFixed(1)} ms`;
}

function wireInput() {
  $("file-input").addEventListener("change", (e) => openFileList(e.target.files));
  $("folder-input").addEventListener("change", (e) => openFileList(e.target.files));
  $("weights-input").addEventListener("change", (e) => { if (e.target.files[0]) openWeights(e.target.files[0]); });
  for (const button of document.querySelectorAll("[data-sample]")) {
    button.addEventListener("click", async () => {
      const response = await fetch(button.dataset.sample);
      await openBytes(button.dataset.sample.split("/").pop(), await response.arrayBuffer());
    });
  }
  let phantomIndex = 0;
  document.querySelector("[data-phantom]").addEventListener("click", () => {
    phantomIndex += 1;
    useImage(GrayImage.phantom(BigInt(phantomIndex), SIZE), `synthetic phantom #${phantomIndex}`);
  });
  const overlay = $("drop-overlay");
  window.addEventListener("dragover", (e) => { e.preventDefault(); overlay.hidden = false; });
  window.addEventListener("dragleave", (e) => { if (!e.relatedTarget) overlay.hidden = true; });
  window.addEventListener("drop", (e) => {
    e.preventDefault();
    overlay.hidden = true;
    droppedFiles(e.dataTransfer).then(openFileList, (err) => showError(`Could not read the dropped folder: ${err.message ?? err}`));
  });
  $("transform-form").addEventListener("submit", (e) => {
    e.preventDefault();
    $("seed").value = String(Math.max(0, Math.floor(Number($("seed").value) || 0)) + 1);
    redrawAll();
  });
  $("preset").addEventListener("change", redrawAll);
  $("seed").addEventListener("change", redrawAll);
}

async function engineCheck(preference) {
  $("status").textContent = `Starting the engine (${preference})…`;
  const engine = await Engine.create(preference);
  $("backend").textContent = engine.backend;
  $("notice").textContent = engine.notice || "—";
  const t0 = performance.now();
  const got = await engine.convDemo();
  const ms = performance.now() - t0;
  const expected = convDemoExpected();
  const ok = got.length === expected.length && got.every((v, i) => v === expected[i]);
  $("conv-result").textContent =
    `conv2d 5×5 ⊛ 3×3 = [${Array.from(got).join(", ")}] ${ok ? "✓ correct" : "✗ WRONG"} (${ms.toFixed(1)} ms)`;
  $("status").textContent = ok ? "Ready" : "Engine gave a wrong result";
  engine.free();
}

/** Registers the service worker that keeps the page working offline (not on file:// pages). */
async function registerOffline() {
  if (!("serviceWorker" in navigator) || location.protocol === "file:") return;
  try {
    await navigator.serviceWorker.register("sw.js");
    await navigator.serviceWorker.ready;
    window.genesisOffline = true;
  } catch (err) {
    console.warn(`Offline mode unavailable: ${err}`);
  }
}

async function main() {
  const preference = backendParam();
  $("backend-select").value = preference;
  $("train-backend").value = preference;
  $("backend-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const url = new URL(location.href);
    url.searchParams.set("backend", $("backend-select").value);
    location.href = url.toString();
  });
  try {
    await init();
  } catch (err) {
    $("status").textContent = `Could not load the WebAssembly engine: ${err}`;
    return;
  }
  wireInput();
  registerOffline();
  models = new Models(preference);
  restorePanel = new RestorePanel(models);
  trainingPanel = new TrainingPanel(preference);
  volumePanel = new VolumePanel(drawOptions, models);
  models.loadShipped().catch((err) => {
    $("restore-status").textContent = `The pretrained models could not be loaded: ${err.message ?? err}`;
  });
  useImage(GrayImage.phantom(0n, SIZE), "synthetic phantom #0");
  try {
    await engineCheck(preference);
  } catch (err) {
    $("status").textContent = `Could not start the engine: ${err}`;
  }
}

main();
