// The demo page: loads the wasm engine, reports its backend and checks it with a convolution.
import init, { Engine, convDemoExpected } from "../genesis_web.js";

const $ = (id) => document.getElementById(id);

function requestedBackend() {
  const param = new URLSearchParams(location.search).get("backend");
  return param || $("backend-select").value;
}

async function start(preference) {
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
  const preference = requestedBackend();
  $("backend-select").value = preference;
  try {
    await init();
    await start(preference);
  } catch (err) {
    $("status").textContent = `Could not start the engine: ${err}`;
  }
  $("backend-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const url = new URL(location.href);
    url.searchParams.set("backend", $("backend-select").value);
    location.href = url.toString();
  });
}

main();
