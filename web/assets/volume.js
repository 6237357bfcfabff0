// The 3-D panel: a dropped CT or MR volume (or the CT phantom) in three orthogonal views, and
// the transforms and pipelines run in 3-D on a 64×64×32 cube around the crosshair.
import { Scan, transformGallery3d } from "../genesis-web.js";
import { drawImage, figure } from "./draw.js";
import { TITLES, captions } from "./restore.js";

const $ = (id) => document.getElementById(id);
/** The views: axis index, name, and the two axes across and down each plane. */
const VIEWS = [
  { axis: 2, name: "Axial", across: 0, down: 1 },
  { axis: 1, name: "Coronal", across: 0, down: 2 },
  { axis: 0, name: "Sagittal", across: 1, down: 2 },
];
const CUBE_DEPTH = 32;

export class VolumePanel {
  constructor(options, models) {
    this.options = options;
    this.models = models;
    this.restoreSeed = 0;
    models.addEventListener("model", (e) => { if (e.detail.dims === 3) this.showModel(); });
    $("cube-restore").addEventListener("click", () => { this.restoreSeed += 1; this.restoreCube(); });
    this.scan = null;
    this.cube = null;
    for (const view of VIEWS) $(`slice-${view.axis}`).addEventListener("input", () => this.showPlanes());
    $("cube-button").addEventListener("click", () => this.drawCube());
    $("cube-slice").addEventListener("input", () => { this.showCube(); this.showRestored(); });
    $("volume-phantom").addEventListener("click", () => {
      this.phantomIndex = (this.phantomIndex ?? 0) + 1;
      this.use(Scan.phantom(BigInt(this.phantomIndex)), `synthetic chest CT #${this.phantomIndex}`);
    });
  }

  /** Makes `scan` the shown volume: sliders at its centre, then the planes and the cube. */
  use(scan, name) {
    this.scan?.free();
    this.scan = scan;
    const shape = scan.shape();
    const spacing = scan.spacing();
    $("volume-name").textContent = `${name} — ${shape.join("×")} voxels, ` +
      `${Array.from(spacing, (s) => s.toFixed(2)).join("×")} mm; ${scan.notice}`;
    for (const view of VIEWS) {
      const slider = $(`slice-${view.axis}`);
      slider.max = String(shape[view.axis] - 1);
      slider.value = String(Math.floor(shape[view.axis] / 2));
    }
    $("volume-panel").hidden = false;
    this.showPlanes();
    this.drawCube();
  }

  /** The crosshair: the voxel each slider points at. */
  position() {
    return [0, 1, 2].map((axis) => Number($(`slice-${axis}`).value));
  }

  showPlanes() {
    if (!this.scan) return;
    const spacing = this.scan.spacing();
    for (const view of VIEWS) {
      const [w, h] = this.scan.planeSize(view.axis);
      const index = this.position()[view.axis];
      const canvas = $(`plane-${view.axis}`);
      drawImage(canvas, w, h, this.scan.planeRgba(view.axis, index));
      // Square millimetres on screen, whatever the voxel spacing.
      canvas.style.aspectRatio = `${w * spacing[view.across]} / ${h * spacing[view.down]}`;
      $(`slice-${view.axis}-label`).textContent = `${view.name} ${index + 1}/${this.scan.shape()[view.axis]}`;
    }
  }

  /** Cuts the cube at the crosshair and draws the 3-D transforms and pipeline samples on it. */
  drawCube() {
    if (!this.scan) return;
    const [x, y, z] = this.position();
    this.cube?.free();
    this.cube = this.scan.cube(x, y, z);
    const { preset, seed } = this.options();
    const t0 = performance.now();
    this.gallery?.free();
    this.gallery = transformGallery3d(this.cube, preset, BigInt(seed));
    const ms = performance.now() - t0;
    $("cube-status").textContent =
      `64×64×32 ${this.cube.notice}; ${preset}, seed ${seed}: ${this.gallery.length - 1} 3-D draws in ${ms.toFixed(0)} ms`;
    window.genesisCubeMs = ms;
    const figures = Array.from({ length: this.gallery.length }, (_, i) => {
      const fig = document.createElement("figure");
      fig.dataset.kind = this.gallery.kind(i);
      const canvas = document.createElement("canvas");
      canvas.setAttribute("aria-label", this.gallery.title(i));
      const cap = document.createElement("figcaption");
      const strong = document.createElement("strong");
      strong.textContent = this.gallery.title(i);
      const small = document.createElement("small");
      small.textContent = this.gallery.params(i);
      cap.append(strong, small);
      fig.append(canvas, cap);
      return fig;
    });
    $("cube-gallery").replaceChildren(...figures);
    this.showCube();
    this.restored = null;
    $("cube-restore-view").replaceChildren();
    this.restoreCube();
  }

  showModel() {
    const model = this.models.get(3);
    $("cube-restore-status").textContent = `${model.name}: ${model.summary}, on ${model.backend}.`;
    $("cube-restore").disabled = false;
    this.restoreCube();
  }

  /** Damages the cube with a 3-D pipeline draw and restores it with the 3-D model. */
  async restoreCube() {
    if (!this.cube || !this.models.get(3)) return;
    const model = this.models.get(3);
    $("cube-restore-status").textContent = "Restoring the cube…";
    const message = { shape: this.cube.shape(), voxels: this.cube.voxels(), seed: this.restoreSeed };
    try {
      this.restored = await this.models.call("restoreCube", message);
    } catch (err) {
      $("cube-restore-status").textContent = `Restoration failed: ${err.message ?? err}`;
      return;
    }
    const r = this.restored;
    $("cube-restore-status").textContent =
      `Restored the 64×64×32 cube in ${r.ms.toFixed(0)} ms on ${model.backend} by ${model.name} (draw ${this.restoreSeed}).`;
    this.showRestored();
  }

  /** Draws the chosen slice of the damaged cube, its restoration and the original. */
  showRestored() {
    if (!this.restored) return;
    const r = this.restored;
    const z = Math.min(Number($("cube-slice").value), CUBE_DEPTH - 1);
    const texts = captions(r, `cube slice ${z + 1}`);
    $("cube-restore-view").replaceChildren(...TITLES.map((t, i) =>
      figure(r.width, r.height, r.slices[i][z], t, texts[i])));
  }

  /** Draws the chosen axial slice of every cube tile. */
  showCube() {
    if (!this.gallery) return;
    const z = Math.min(Number($("cube-slice").value), CUBE_DEPTH - 1);
    $("cube-slice-label").textContent = `Cube slice ${z + 1}/${CUBE_DEPTH}`;
    const [w, h] = this.gallery.planeSize(2);
    [...$("cube-gallery").children].forEach((fig, i) => {
      drawImage(fig.querySelector("canvas"), w, h, this.gallery.planeRgba(i, 2, z));
    });
  }
}
