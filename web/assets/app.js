// The demo page: input handling and wiring of the panels. All computation is in the wasm
// module (genesis_web); training runs in a worker (worker.js).
import init, { Engine, convDemoExpected, GrayImage } from "../genesis-web.js";
import { drawImage } from "./draw.js";
import { renderGallery } from "./gallery.js";
import { RestorePanel } from "./restore.js";
import { TrainingPanel } from "./training.js";

/** Side of the square images the demo works on. */
export const SIZE = 224;
/** Files larger than this are refused before decoding. */
const MAX_FILE_BYTES = 64 * 1024 * 1024;

const $ = (id) => document.getElementById(id);
const state = { image: null, name: "" };
let restorePanel;
let trainingPanel;

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

async function openBytes(name, bytes) {
  if (bytes.byteLength > MAX_FILE_BYTES) {
    showError(`${name} is ${(bytes.byteLength / 1e6).toFixed(0)} MB; the limit is ${MAX_FILE_BYTES / 1e6} MB.`);
    return;
  }
  try {
    useImage(GrayImage.decode(name, new Uint8Array(bytes), SIZE), name);
  } catch (err) {
    showError(`Could not open ${name}: ${err.message ?? err}. Use a PNG, JPEG or DICOM image.`);
  }
}

async function openFile(file) {
  await openBytes(file.name, await file.arrayBuffer());
}

function redrawGallery() {
  if (!state.image) return;
  const preset = $("preset").value;
  const seed = Math.max(0, Math.floor(Number($("seed").value) || 0));
  const t0 = performance.now();
  renderGallery($("gallery"), state.image, preset, seed);
  $("transform-time").textContent = `${(performance.now() - t0).toFixed(1)} ms`;
}

function wireInput() {
  $("file-input").addEventListener("change", (e) => { if (e.target.files[0]) openFile(e.target.files[0]); });
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
    const file = e.dataTransfer?.files?.[0];
    if (file) openFile(file);
  });
  $("transform-form").addEventListener("submit", (e) => {
    e.preventDefault();
    $("seed").value = String(Math.max(0, Math.floor(Number($("seed").value) || 0)) + 1);
    redrawGallery();
  });
  $("preset").addEventListener("change", redrawGallery);
  $("seed").addEventListener("change", redrawGallery);
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
  restorePanel = new RestorePanel(preference);
  trainingPanel = new TrainingPanel(preference);
  useImage(GrayImage.phantom(0n, SIZE), "synthetic phantom #0");
  try {
    await engineCheck(preference);
  } catch (err) {
    $("status").textContent = `Could not start the engine: ${err}`;
  }
}

main();
