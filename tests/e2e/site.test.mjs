// Every page of the static site: links resolve, no console errors, live widgets render.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, openPage, serveSite } from "./harness.mjs";

const PAGES = ["index.html", "tutorial.html", "cli.html", "demo/index.html"];

let site;
let browser;
before(async () => { site = await serveSite(); browser = await launchBrowser(); });
after(async () => { await browser?.close(); await site?.close(); });

for (const path of PAGES) {
  test(`${path}: links resolve, widgets render, no console error`, async () => {
    const { page, errors } = await openPage(browser);
    const response = await page.goto(`${site.url}/${path}?backend=flex`);
    assert.equal(response.status(), 200);
    const widgets = await page.$$eval("[data-widget]", (els) => els.length);
    if (widgets) {
      await page.waitForFunction(() => [...document.querySelectorAll("[data-widget]")].every((el) => el.dataset.rendered === "true"),
        null, { timeout: 120_000 });
    }
    const links = await page.$$eval("a[href]", (as) => as.map((a) => a.href).filter((h) => h.startsWith(location.origin)));
    for (const link of new Set(links)) {
      const target = link.split("#")[0];
      const status = (await page.request.get(target)).status();
      assert.equal(status, 200, `${path} links to ${target}, which answers ${status}`);
    }
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test("the landing page's call to action opens the demo", async () => {
  const { page } = await openPage(browser);
  await page.goto(`${site.url}/index.html`);
  await page.click("text=Try it on your X-ray");
  await page.waitForURL(/demo\/index.html/);
  await page.close();
});
