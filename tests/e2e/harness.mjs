// Shared helpers for the end-to-end tests: a static server for dist/ on 127.0.0.1 and a
// headless Debian Chromium that records console errors and every network request.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { chromium } from "playwright-core";

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
  ".css": "text/css", ".wasm": "application/wasm", ".png": "image/png", ".json": "application/json",
  ".bpk": "application/octet-stream", ".svg": "image/svg+xml", ".jpg": "image/jpeg",
};

export const SITE = resolve(process.env.GENESIS_SITE ?? new URL("../../dist", import.meta.url).pathname);
export const OUT = resolve(new URL("./out", import.meta.url).pathname);

/** Serves SITE on a free loopback port; resolves to { url, close }. */
export async function serveSite() {
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    let file = normalize(join(SITE, path));
    if (!file.startsWith(SITE)) { res.writeHead(403).end(); return; }
    try {
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
      res.end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((ok) => server.close(ok)) };
}

/** Launches Debian's Chromium headless with WebGPU (SwiftShader) enabled. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", "--enable-unsafe-webgpu"],
  });
}

/** Opens a page that records console errors, page errors and every request's URL. */
export async function openPage(browser) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  const requests = [];
  page.on("console", (msg) => { if (msg.type() === "error") errors.push(msg.text()); });
  page.on("pageerror", (err) => errors.push(String(err)));
  page.on("request", (req) => requests.push(req.url()));
  return { page, errors, requests };
}

/** True when a canvas shows more than one grey level (drawn, not blank). Runs in the page. */
export function canvasIsDrawn(canvas) {
  const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
  let min = 255;
  let max = 0;
  for (let i = 0; i < data.length; i += 4) { min = Math.min(min, data[i]); max = Math.max(max, data[i]); }
  return max - min > 20;
}
