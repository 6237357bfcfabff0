// The models the page restores and embeds with: a worker (infer-worker.js) holds them; this
// side sends requests and tells the panels when a model is loaded. Large weights files are read
// with progress and loaded in the worker, so the page stays responsive.
export const SHIPPED = ["assets/model/restorer.bpk", "assets/model/restorer3d.bpk"];
/** Weights files larger than this are refused before reading (wasm32 memory is 4 GB). */
const MAX_WEIGHTS_BYTES = 400 * 1024 * 1024;

export class Models extends EventTarget {
  constructor(preference) {
    super();
    this.loaded = new Map();
    this.pending = new Map();
    this.next = 0;
    this.worker = new Worker(new URL("./infer-worker.js", import.meta.url), { type: "module" });
    this.worker.onmessage = (e) => this.receive(e.data);
    this.ready = this.call("init", { backend: preference });
  }

  receive({ id, ok, result, error }) {
    const request = this.pending.get(id);
    this.pending.delete(id);
    if (ok) request.resolve(result);
    else request.reject(new Error(error));
  }

  /** Sends request `type` to the worker; resolves to its result. */
  call(type, message = {}, transfer = []) {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id, type }, transfer);
    });
  }

  /** Loads weights `bytes` named `name`; a "model" event tells the panels. */
  async load(name, bytes) {
    await this.ready;
    const info = await this.call("load", { name, bytes }, [bytes.buffer]);
    this.loaded.set(info.dims, info);
    this.dispatchEvent(new CustomEvent("model", { detail: info }));
    return info;
  }

  /** Fetches and loads the shipped restorers. */
  async loadShipped() {
    for (const url of SHIPPED) {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      await this.load(url.split("/").pop(), new Uint8Array(await response.arrayBuffer()));
    }
  }

  /** Reads a dropped weights file, reporting the fraction read, and loads it. */
  async loadFile(file, onProgress) {
    if (file.size > MAX_WEIGHTS_BYTES) {
      throw new Error(`${file.name} is ${(file.size / 1e6).toFixed(0)} MB; the page takes weights up to ${MAX_WEIGHTS_BYTES / 1e6} MB`);
    }
    const reader = file.stream().getReader();
    const bytes = new Uint8Array(file.size);
    let at = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes.set(value, at);
      at += value.length;
      onProgress(at / Math.max(file.size, 1));
    }
    return this.load(file.name, bytes);
  }

  /** A loaded model of `dims` (2 or 3), or undefined. */
  get(dims) {
    return this.loaded.get(dims);
  }
}
