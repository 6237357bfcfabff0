// The inference worker: owns the restorers (the shipped 2-D and 3-D ones, or a visitor's own
// weights) so that loading a large weights file or restoring a cube never freezes the page.
import init, { GrayImage, Restorer, Scan } from "../genesis-web.js";

const restorers = new Map();
let backend = "auto";
let queue = Promise.resolve();

/** The restorer for `dims` (2 or 3), or an error saying how to get one. */
function restorer(dims) {
  const r = restorers.get(dims);
  if (!r) throw new Error(`no ${dims}-D model is loaded`);
  return r;
}

/** The errors and the damage of a restoration `t` that took `ms`. */
const metrics = (t, ms) => ({ ms, mse: t.mse, psnr: t.psnr, inputPsnr: t.inputPsnr, damage: t.damage });

const handlers = {
  async init(msg) {
    backend = msg.backend;
    await init();
    return {};
  },
  async load({ name, bytes }) {
    const t0 = performance.now();
    const r = await Restorer.create(backend, name, bytes);
    restorers.get(r.dims)?.free();
    restorers.set(r.dims, r);
    const ms = performance.now() - t0;
    return { dims: r.dims, summary: r.summary, backend: r.backend, notice: r.notice, loaded: r.loaded, unused: r.unused, name, ms };
  },
  async restore({ width, height, pixels, seed }) {
    const image = GrayImage.fromPixels(width, height, pixels);
    const t0 = performance.now();
    const t = await restorer(2).restore(image, BigInt(seed));
    const out = { ...metrics(t, performance.now() - t0), width: t.width, height: t.height };
    out.images = [0, 1, 2].map((i) => t.rgba(i));
    t.free();
    image.free();
    return out;
  },
  async restoreCube({ shape, voxels, seed }) {
    const cube = Scan.fromVoxels(shape, voxels);
    const t0 = performance.now();
    const t = await restorer(3).restoreCube(cube, BigInt(seed));
    const out = metrics(t, performance.now() - t0);
    [out.width, out.height] = t.planeSize(2);
    out.slices = [0, 1, 2].map((i) => Array.from({ length: shape[2] }, (_, z) => t.planeRgba(i, 2, z)));
    t.free();
    cube.free();
    return out;
  },
  async embed({ width, height, pixels }) {
    const image = GrayImage.fromPixels(width, height, pixels);
    const embedding = await restorer(2).embed(image);
    image.free();
    return { embedding };
  },
};

onmessage = (e) => {
  const { id, type } = e.data;
  queue = queue.then(() => handlers[type](e.data))
    .then((result) => postMessage({ id, ok: true, result }))
    .catch((err) => postMessage({ id, ok: false, error: String(err?.message ?? err) }));
};
