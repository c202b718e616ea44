/**
 * The viewer's weight (bytes of HTML, JS and CSS it serves) and how long a run page of 200 steps
 * takes to render in headless chromium. The page's feed is answered by a synthetic run (20 layers
 * of 10 steps, each reading two of the layer before) so the number is the front end's alone.
 */
import { statSync } from "node:fs";
import { tmpdir } from "node:os";
import { mkdtempSync } from "node:fs";
import path from "node:path";
import puppeteer from "puppeteer-core";
import { loadConfig } from "../src/config.ts";
import { openRoot } from "../src/run/root.ts";
import { startViewer } from "../src/ui/server.ts";
import type { RunView } from "../src/ui/view.ts";

function syntheticRun(layers: number, width: number): RunView {
  const id = (l: number, i: number): string => `s${l}_${i}`;
  const nodes: RunView["nodes"] = [];
  const edges: RunView["edges"] = [];
  const timeline: RunView["timeline"] = [];
  const steps: RunView["steps"] = [];
  for (let l = 0; l < layers; l++) {
    for (let i = 0; i < width; i++) {
      nodes.push({ id: id(l, i), tool: "toolkit.work", status: "succeeded", critical: i === 0 });
      if (l > 0) {
        edges.push({ from: id(l - 1, i), to: id(l, i), implied: false, critical: i === 0 });
        edges.push({ from: id(l - 1, (i + 1) % width), to: id(l, i), implied: true, critical: false });
      }
      timeline.push({ id: id(l, i), kind: "step", status: "succeeded", startMs: l * 100 + i, endMs: l * 100 + 90 + i, attempts: 1 + (i % 3 === 0 ? 1 : 0) });
      steps.push({ id: id(l, i), tool: "toolkit.work", status: "succeeded", params: { name: id(l, i) }, output: { ok: true }, attempts: 1, ms: 90 });
    }
  }
  return {
    threadId: "bench", plan: "200 steps", status: "succeeded", waiting: false, request: "", active: false,
    nodes, edges, timeline, steps, notes: [], problems: [], usage: [], startedAt: Date.now(), durationMs: layers * 100,
  };
}

export async function benchViewer(): Promise<Record<string, unknown>> {
  const home = mkdtempSync(path.join(tmpdir(), "co-bench-viewer-"));
  const root = await openRoot(loadConfig({ CREDIT_OPTIMIZER_HOME: home }));
  const viewer = await startViewer(root);
  const weight: Record<string, number> = {};
  for (const asset of ["/", "/assets/app.js", "/assets/app.css", "/assets/dagre.js"]) {
    weight[asset] = (await (await fetch(`${viewer.url}${asset}`)).arrayBuffer()).byteLength;
  }
  const browser = await puppeteer.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    userDataDir: mkdtempSync(path.join(tmpdir(), "co-bench-chromium-")),
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    const body = `data: ${JSON.stringify(syntheticRun(20, 10))}\n\n`;
    await page.setRequestInterception(true);
    page.on("request", (request) => {
      if (request.url().endsWith("/api/runs/bench/events")) void request.respond({ status: 200, contentType: "text/event-stream", body });
      else void request.continue();
    });
    const renders: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await page.goto(`${viewer.url}/runs/bench`);
      await page.waitForFunction("document.querySelectorAll('#dag .node').length === 200 && document.querySelectorAll('#timeline .bar').length === 200");
      renders.push(performance.now() - started);
    }
    renders.sort((a, b) => a - b);
    return {
      bytes: { ...weight, js: weight["/assets/app.js"]! + weight["/assets/dagre.js"]!, css: weight["/assets/app.css"]! },
      appJsSourceBytes: statSync(new URL("../src/ui/public/app.js", import.meta.url)).size,
      render200StepsMs: { median: Math.round(renders[2]!), min: Math.round(renders[0]!), max: Math.round(renders[4]!), runs: renders.length },
    };
  } finally {
    await browser.close();
    await viewer.close();
    await root.close();
  }
}
