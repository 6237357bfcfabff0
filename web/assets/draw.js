// Small drawing helpers shared by the panels.

/** Draws RGBA bytes of a `width`×`height` image onto `canvas`, resizing the canvas to fit. */
export function drawImage(canvas, width, height, rgba) {
  canvas.width = width;
  canvas.height = height;
  const pixels = new Uint8ClampedArray(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  canvas.getContext("2d").putImageData(new ImageData(pixels, width, height), 0, 0);
}

/** A captioned canvas (figure) showing one image. */
export function figure(width, height, rgba, title, caption = "") {
  const fig = document.createElement("figure");
  const canvas = document.createElement("canvas");
  canvas.setAttribute("aria-label", title);
  drawImage(canvas, width, height, rgba);
  const cap = document.createElement("figcaption");
  const strong = document.createElement("strong");
  strong.textContent = title;
  cap.append(strong);
  if (caption) {
    const small = document.createElement("small");
    small.textContent = caption;
    cap.append(small);
  }
  fig.append(canvas, cap);
  return fig;
}

/** Plots `values` (a loss per step) as a line with a log-scaled y axis. */
export function plotLoss(canvas, values) {
  const ctx = canvas.getContext("2d");
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.strokeStyle = "#dde2ea";
  ctx.strokeRect(0.5, 0.5, width - 1, height - 1);
  if (values.length < 2) return;
  const logs = values.map((v) => Math.log10(Math.max(v, 1e-8)));
  const lo = Math.min(...logs);
  const hi = Math.max(...logs);
  const pad = 24;
  const x = (i) => pad + (i / (values.length - 1)) * (width - 2 * pad);
  const y = (l) => height - pad - ((l - lo) / Math.max(hi - lo, 1e-6)) * (height - 2 * pad);
  ctx.strokeStyle = "#2457c5";
  ctx.lineWidth = 2;
  ctx.beginPath();
  logs.forEach((l, i) => (i ? ctx.lineTo(x(i), y(l)) : ctx.moveTo(x(i), y(l))));
  ctx.stroke();
  ctx.fillStyle = "#5b6678";
  ctx.font = "12px system-ui, sans-serif";
  ctx.fillText(`loss ${values[0].toPrecision(3)} → ${values[values.length - 1].toPrecision(3)} (log scale)`, pad, 16);
  ctx.fillText(`step ${values.length}`, width - pad - 60, height - 6);
}
