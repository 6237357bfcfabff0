// The training panel: owns the worker that trains, and shows its progress.
import { figure, plotLoss } from "./draw.js";

const $ = (id) => document.getElementById(id);

export class TrainingPanel {
  constructor(preference) {
    this.preference = preference;
    this.losses = [];
    this.pending = [];
    this.ready = false;
    this.startWorker();
    $("train-start").addEventListener("click", () => this.send({ type: "start" }, true));
    $("train-pause").addEventListener("click", () => this.send({ type: "pause" }, false));
    $("train-reset").addEventListener("click", () => this.reset());
    $("train-backend").addEventListener("change", () => {
      this.preference = $("train-backend").value;
      this.restartWorker();
    });
    $("train-download").addEventListener("click", () => this.send({ type: "weights" }));
    $("train-load").addEventListener("change", async (e) => {
      const file = e.target.files[0];
      if (file) this.send({ type: "load", bytes: new Uint8Array(await file.arrayBuffer()) });
    });
  }

  startWorker() {
    this.worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    this.worker.onmessage = (e) => this.receive(e.data);
    this.worker.onerror = (e) => { $("train-notice").textContent = `Worker error: ${e.message}`; };
    this.ready = false;
    $("train-backend-label").textContent = "starting…";
    this.worker.postMessage({ type: "init", backend: this.preference, seed: 1 });
    for (const image of this.images ?? []) this.worker.postMessage(image);
  }

  restartWorker() {
    this.worker.terminate();
    this.clearProgress();
    this.startWorker();
  }

  clearProgress() {
    this.losses = [];
    plotLoss($("loss-plot"), this.losses);
    $("train-steps").textContent = "0";
    $("train-loss").textContent = "—";
    $("train-speed").textContent = "—";
    $("train-preview").replaceChildren();
    this.setRunning(false);
  }

  reset() {
    this.clearProgress();
    this.send({ type: "reset" });
  }

  /** Queues `image` (a GrayImage) for training; the worker keeps every image it was given. */
  addImage(image, name) {
    const message = { type: "image", name, width: image.width, height: image.height, pixels: image.pixels() };
    this.images = [...(this.images ?? []), message].slice(-8);
    this.worker.postMessage(message);
  }

  send(message, running) {
    if (running !== undefined) this.setRunning(running);
    this.worker.postMessage(message);
  }

  setRunning(running) {
    $("train-start").disabled = running;
    $("train-pause").disabled = !running;
  }

  receive(msg) {
    switch (msg.type) {
      case "ready":
        $("train-backend-label").textContent = msg.backend;
        $("train-notice").textContent = msg.notice || "—";
        $("train-download").disabled = false;
        break;
      case "progress":
        this.losses.push(...msg.losses);
        window.genesisLosses = this.losses;
        $("train-steps").textContent = String(msg.step);
        $("train-loss").textContent = msg.losses[msg.losses.length - 1].toFixed(5);
        $("train-speed").textContent = `${msg.stepsPerSecond.toFixed(2)} steps/s`;
        plotLoss($("loss-plot"), this.losses);
        break;
      case "preview": {
        const titles = ["Damaged input", "Restoration", "Original"];
        $("train-preview").replaceChildren(
          ...msg.images.map((rgba, i) => figure(msg.width, msg.height, rgba, titles[i])));
        break;
      }
      case "weights": {
        const url = URL.createObjectURL(new Blob([msg.bytes], { type: "application/octet-stream" }));
        const a = document.createElement("a");
        a.href = url;
        a.download = "genesis-web-unet2d.bpk";
        a.click();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
        break;
      }
      case "loaded":
        $("train-notice").textContent = "Weights loaded.";
        break;
      case "paused":
        this.setRunning(false);
        break;
      case "error":
        $("train-notice").textContent = msg.message;
        this.setRunning(false);
        break;
    }
  }
}
