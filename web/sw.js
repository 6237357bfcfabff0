// The demo's service worker: after the first visit the page, the wasm engine, the worker, the
// shipped weights and the samples come from a versioned cache, so the page works offline.
// `make site` stamps BUILD with a hash of the built files: a new build installs a new cache
// and deletes the old ones. Only same-origin GET requests are handled; nothing leaves the page.
const BUILD = "__BUILD__";
const CACHE = `genesis-demo-${BUILD}`;
const SHELL = [
  "./", "index.html", "genesis-web.js", "genesis-web_bg.wasm",
  "assets/app.js", "assets/draw.js", "assets/gallery.js", "assets/models.js", "assets/restore.js",
  "assets/training.js", "assets/volume.js", "assets/worker.js", "assets/infer-worker.js",
  "assets/style.css", "assets/model/restorer.bpk", "assets/model/restorer3d.bpk",
  "assets/samples/00000001_000.png", "assets/samples/00000002_000.png", "assets/samples/00000013_003.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("genesis-demo-") && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

/** Cache first (the files of one build never change); a miss is fetched and kept. */
async function respond(request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(request, { ignoreSearch: request.mode === "navigate" });
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(respond(request));
});
