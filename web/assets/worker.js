// The training worker: owns a genesis_web Trainer so training never blocks the page.
import init, { Trainer } from "../genesis-web.js";

const STEPS_PER_CHUNK = 2;
const PREVIEW_EVERY = 10;

let trainer = null;
let running = false;
let queue = Promise.resolve();
const images = [];

/** Runs `task` after every earlier task: the Trainer must never be used concurrently. */
function enqueue(task) {
  queue = queue.then(task).catch((err) => {
    running = false;
    postMessage({ type: "error", message: String(err?.message ?? err) });
  });
  return queue;
}

async function preview() {
  const p = await trainer.preview();
  postMessage({ type: "preview", width: p.width, height: p.height, images: [p.rgba(0), p.rgba(1), p.rgba(2)] });
  p.free();
}

async function chunk() {
  if (!running) return;
  const t0 = performance.now();
  const losses = Array.from(await trainer.train(STEPS_PER_CHUNK));
  const seconds = (performance.now() - t0) / 1000;
  const step = Number(trainer.step);
  postMessage({ type: "progress", step, losses, stepsPerSecond: STEPS_PER_CHUNK / seconds });
  if (step % PREVIEW_EVERY < STEPS_PER_CHUNK) await preview();
  if (running) setTimeout(() => enqueue(chunk), 0);
}

const handlers = {
  async init({ backend, seed }) {
    await init();
    trainer = await Trainer.create(backend, BigInt(seed));
    for (const img of images) trainer.addImage(img.width, img.height, img.pixels);
    postMessage({ type: "ready", backend: trainer.backend, notice: trainer.notice });
  },
  image(msg) {
    images.push(msg);
    trainer?.addImage(msg.width, msg.height, msg.pixels);
  },
  start() {
    if (running) return;
    running = true;
    setTimeout(() => enqueue(chunk), 0);
  },
  pause() {
    running = false;
    postMessage({ type: "paused" });
  },
  reset() {
    running = false;
    trainer?.reset();
  },
  async weights() {
    const bytes = await trainer.weights();
    postMessage({ type: "weights", bytes }, [bytes.buffer]);
  },
  load({ bytes }) {
    trainer.loadWeights(bytes);
    postMessage({ type: "loaded" });
  },
};

onmessage = (e) => enqueue(() => handlers[e.data.type]?.(e.data));
