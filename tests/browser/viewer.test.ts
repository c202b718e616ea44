import http from "node:http";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunState } from "../../graphs/state.ts";
import { loadConfig } from "../../src/config.ts";
import { openRoot, type Root } from "../../src/run/root.ts";
import { startViewer, type Viewer } from "../../src/ui/server.ts";
import { runCli, startCli, type CliResult } from "../helpers/cli.ts";
import { fakeServer, readCalls, release, tempDir } from "../helpers/fake-mcp.ts";

const CHROMIUM = "/usr/bin/chromium";
// Screenshots are kept as test artifacts (git-ignored), not committed.
const ARTIFACTS = fileURLToPath(new URL("../../test-artifacts/browser/", import.meta.url));
const SECRET = "hunter2-not-for-pages";
const XSS_NAME = `<script>window.__planted = 1</script><img src=x onerror="window.__planted = 2"> plan`;

async function admin(fn: (client: pg.Client) => Promise<unknown>): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

const work = (id: string, extra: Record<string, unknown> = {}) => ({ id, tool: "infra.work", dependencies: [], params: { name: id }, ...extra });

const ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres";

describe.each(["sqlite", "postgres"] as const)("the viewer in a real browser (%s)", (backend) => {
  const dir = tempDir("co-viewer-");
  const database = `co_viewer_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const home = path.join(dir, "home");
  const calls = path.join(dir, "calls.jsonl");
  const mcp = path.join(dir, "mcp.json");
  // a and b run in parallel (slow enough to be seen running); c reads ${b.name}: an implied edge, and
  // b is the longer one, so the critical path is b → c.
  // a reports its progress four times; r fails once with a 503 and is retried. a and b then wait for
  // `liveRelease`: the page is looked at while they run, however slow the machine.
  const liveRelease = path.join(dir, "live.release");
  writeFileSync(mcp, JSON.stringify({ mcpServers: { infra: fakeServer("infra", calls, { delays: { a: 5000, b: 6000, r: 400 }, progress: { a: 4 }, flaky: { r: 1 }, hold: { a: liveRelease, b: liveRelease } }) } }));
  const livePlan = path.join(dir, "live.json");
  writeFileSync(livePlan, JSON.stringify({
    name: XSS_NAME,
    steps: [
      work("a", { params: { name: "a", output: { password: SECRET } } }),
      work("b"),
      work("c", { dependencies: ["a"], params: { name: "c-${b.name}" } }),
      work("r", { retry: { maxAttempts: 2, backoffMs: 400 } }),
    ],
  }));
  // Over the approval threshold, and z calls a destructive tool: approving it is a separate choice.
  const waitPlan = path.join(dir, "wait.json");
  writeFileSync(waitPlan, JSON.stringify({ name: "costly plan", steps: [work("x", { estimate: { ms: 10, usd: 5 } }), work("y", { dependencies: ["x"] }), { id: "z", tool: "infra.undo", dependencies: ["y"], params: { name: "z" } }] }));
  const env: Record<string, string> = { CREDIT_OPTIMIZER_HOME: home, CREDIT_OPTIMIZER_APPROVAL_USD: "1" };
  if (backend === "postgres") env["DATABASE_URL"] = `postgres://postgres@127.0.0.1:5432/${database}`;

  let root: Root;
  let viewer: Viewer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    if (backend === "postgres") await admin((c) => c.query(`CREATE DATABASE ${database}`));
    const config = loadConfig({ ...env, PATH: process.env["PATH"] });
    root = await openRoot(config);
    // No backstop reads during the tests: every live update must come through the change feed
    // (LISTEN/NOTIFY on Postgres, the file watch on SQLite).
    viewer = await startViewer(root, { port: 0, pollMs: 600_000 });
    expect(viewer.changes).toMatch(backend === "postgres" ? /^postgres LISTEN/ : /^watching /);
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: tempDir("co-chromium-"),
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
  });

  afterAll(async () => {
    await browser?.close();
    await viewer?.close();
    await root?.close();
    if (backend === "postgres") await admin((c) => c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
  });

  it("shows a run live: steps go from running to succeeded, the DAG and timeline match, a planted <script> is text", async () => {
    const run = startCli(["run", "--plan", livePlan, "--mcp-config", mcp, "--thread", "t-live"], env);
    // The run page exists once the thread has its first checkpoint: until then the server says 404.
    let finished: CliResult | undefined;
    void run.done.then((r) => (finished = r));
    await page.goto(`${viewer.url}/runs/t-live`);
    await page.waitForSelector('#dag .node[data-id="a"].status-running', { timeout: 60_000 });
    // a's progress notifications reach this page from the CLI's process, through the ledger.
    await page.waitForSelector('#dag .node[data-id="a"] text.progress-text', { timeout: 30_000 });
    expect(await page.$eval('#dag .node[data-id="a"] text.progress-text', (e) => e.textContent)).toMatch(/^\d+%$/);
    expect(await page.$eval('#dag .node[data-id="a"] title', (e) => e.textContent)).toMatch(/\d+% — a: part \d of 5/);
    // In the page, in one go: a live update may replace the node between finding it and clicking it.
    await page.evaluate(`document.querySelector('#dag .node[data-id="a"]').dispatchEvent(new MouseEvent("click", { bubbles: true }))`);
    await page.waitForSelector("#details #step-progress");
    expect(await page.$eval("#details #step-progress", (e) => e.textContent)).toMatch(/^\d+% — a: part \d of 5/);
    await page.screenshot({ path: path.join(ARTIFACTS, `${backend}-run-running.png`), fullPage: true });
    expect(finished).toBeUndefined();
    release(liveRelease);
    await page.waitForSelector("#run-status.status.succeeded", { timeout: 60_000 });
    const result = await run.done;
    expect(result.code, result.stderr).toBe(0);

    const nodes = await page.$$eval("#dag .node", (els) => els.map((e) => `${e.getAttribute("data-id")}:${e.getAttribute("class")}`));
    expect(nodes.map((n) => n.split(":")[0]).sort()).toEqual(["a", "b", "c", "r"]);
    // Finished: no progress is drawn any more.
    expect(await page.$$("#dag text.progress-text")).toHaveLength(0);
    for (const n of nodes) expect(n).toContain("status-succeeded");
    const edges = await page.$$eval("#dag .edge", (els) => els.map((e) => `${e.getAttribute("data-from")}->${e.getAttribute("data-to")}:${e.getAttribute("class")}`).sort());
    expect(edges).toEqual(["a->c:edge declared", "b->c:edge implied critical"]);

    const bars = await page.$$eval("#timeline .bar.step", (els) => els.map((e) => ({ id: e.getAttribute("data-id"), start: Number(e.getAttribute("data-start")), end: Number(e.getAttribute("data-end")), width: e.getBoundingClientRect().width })));
    expect(bars.map((b) => b.id).sort()).toEqual(["a", "b", "c", "r"]);
    for (const b of bars) expect(b.width).toBeGreaterThan(0);
    const [a, b] = ["a", "b"].map((id) => bars.find((x) => x.id === id)!);
    expect(Math.min(a!.end, b!.end) - Math.max(a!.start, b!.start)).toBeGreaterThan(1000); // ran in parallel
    // r's two attempts are two segments at their own times: the failed one first, then the backoff, then success.
    const segments = await page.$$eval('#timeline .bar.step[data-id="r"] .seg', (els) => els.map((e) => ({ cls: e.getAttribute("class"), start: Number(e.getAttribute("data-start")), end: Number(e.getAttribute("data-end")), left: e.getBoundingClientRect().left, title: e.getAttribute("title") })));
    expect(segments.map((x) => x.cls)).toEqual(["seg failed", "seg"]);
    expect(segments[0]!.title).toMatch(/^attempt 1: .*503/);
    expect(segments[1]!.start - segments[0]!.end).toBeGreaterThanOrEqual(199); // a backoff of ≥ 200 ms, in whole milliseconds
    expect(segments[1]!.left).toBeGreaterThan(segments[0]!.left);
    for (const id of ["a", "b", "c"]) expect(await page.$$(`#timeline .bar.step[data-id="${id}"] .seg`)).toHaveLength(1);

    const title = await page.$eval("#run-title", (e) => e.firstChild!.textContent);
    expect(title).toBe(XSS_NAME);
    expect(await page.evaluate("window.__planted")).toBeUndefined();
    // A secret-looking field in params and output is masked in the page and in every API response.
    // In the page, in one go: a live update may replace the node between finding it and clicking it.
    await page.evaluate(`document.querySelector('#dag .node[data-id="a"]').dispatchEvent(new MouseEvent("click", { bubbles: true }))`);
    await page.waitForSelector('#details h2');
    expect(await page.$eval("#details", (e) => e.textContent)).toContain('"password": "***"');
    expect(await page.content()).not.toContain(SECRET);
    const api = await (await fetch(`${viewer.url}/api/runs/t-live`)).text();
    expect(api).toContain('"password":"***"');
    expect(api).not.toContain(SECRET);
    expect(await (await fetch(`${viewer.url}/api/runs/t-live/plan.json`)).text()).not.toContain(SECRET);
    expect((await page.evaluate("document.body.innerText")) as string).not.toMatch(/\bnull\b/);
    await page.screenshot({ path: path.join(ARTIFACTS, `${backend}-run-succeeded.png`), fullPage: true });
    expect(statSync(path.join(ARTIFACTS, `${backend}-run-succeeded.png`)).size).toBeGreaterThan(10_000);
  }, 180_000);

  it("approves a waiting run from the page; it runs to success in the viewer's process", async () => {
    const waiting = await runCli(["run", "--plan", waitPlan, "--mcp-config", mcp, "--thread", "t-wait"], env);
    expect(waiting.code, waiting.stderr).toBe(3);

    await page.goto(viewer.url);
    await page.waitForSelector('#runs tr[data-thread="t-wait"] .badge');
    const rows = await page.$$eval("#runs tr.run", (els) => els.map((e) => ({ thread: e.getAttribute("data-thread"), text: e.textContent })));
    expect(rows.map((r) => r.thread).sort()).toEqual(["t-live", "t-wait"]);
    expect(rows.find((r) => r.thread === "t-live")!.text).toContain(XSS_NAME);
    expect(rows.find((r) => r.thread === "t-wait")!.text).toContain("waiting for approval");
    expect(rows.find((r) => r.thread === "t-live")!.text).toContain("succeeded");
    // The filter asks the server again (the list is paged there), live.
    await page.select("#filter-status", "waiting");
    await page.waitForFunction('[...document.querySelectorAll("#runs tr.run")].map((e) => e.getAttribute("data-thread")).join() === "t-wait"');
    // Paged: a cursor leads from one page to the next, without overlap.
    const first = (await (await fetch(`${viewer.url}/api/runs?limit=1`)).json()) as { runs: { threadId: string }[]; next?: string };
    expect(first.runs.map((r) => r.threadId)).toEqual(["t-wait"]);
    const second = (await (await fetch(`${viewer.url}/api/runs?limit=1&before=${encodeURIComponent(first.next!)}`)).json()) as { runs: { threadId: string }[]; next?: string };
    expect(second).toEqual({ runs: [expect.objectContaining({ threadId: "t-live" })] });
    await page.screenshot({ path: path.join(ARTIFACTS, `${backend}-runs.png`), fullPage: true });

    await page.goto(`${viewer.url}/runs/t-wait`);
    await page.waitForSelector("#question #approve");
    expect(await page.$eval("#question", (e) => e.textContent)).toContain("costly plan");
    // The destructive call is listed with its tool, and approving stays off until it is chosen on its own.
    expect(await page.$$eval("#destructive li", (els) => els.map((e) => e.textContent))).toEqual(["z → infra.undo"]);
    expect(await page.$eval("#approve", (e) => [e.hasAttribute("disabled"), e.textContent])).toEqual([true, "Approve, including 1 destructive call(s)"]);
    // An approval that does not say it approves the destructive calls is refused.
    const csrf = await page.$eval('meta[name="csrf-token"]', (e) => e.getAttribute("content")!);
    const refusedResponse = await fetch(`${viewer.url}/api/runs/t-wait/answer`, { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": csrf }, body: JSON.stringify({ approved: true }) });
    const refused = [refusedResponse.status, ((await refusedResponse.json()) as { error: string }).error] as const;
    expect(refused[0]).toBe(409);
    expect(refused[1]).toContain("z: infra.undo");
    expect(readCalls(calls).filter((c) => c.tool === "undo")).toEqual([]);
    await page.click("#allow-destructive");
    expect(await page.$eval("#approve", (e) => e.hasAttribute("disabled"))).toBe(false);
    await page.screenshot({ path: path.join(ARTIFACTS, `${backend}-destructive-approval.png`), fullPage: true });
    await page.click("#question #approve");
    await page.waitForSelector("#run-status.status.succeeded", { timeout: 90_000 });
    await viewer.pending();
    const state = (await root.graph().getState({ configurable: { thread_id: "t-wait" } })).values as RunState;
    expect(state.report?.status).toBe("succeeded");
    expect(state.approval).toMatchObject({ approved: true, by: "human" });
    expect(Object.keys(state.results).sort()).toEqual(["x", "y", "z"]);
    expect(state.allowDestructive).toBe(true);
    expect(readCalls(calls).filter((c) => c.tool === "undo").map((c) => c.name)).toEqual(["z"]);
    expect(await page.$("#question")).toBeNull();
  }, 180_000);

  it("refuses an answer without the page's CSRF token, and sends a strict CSP", async () => {
    const response = await fetch(`${viewer.url}/api/runs/t-wait/answer`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ approved: true }) });
    expect(response.status).toBe(403);
    const shell = await fetch(`${viewer.url}/`);
    expect(shell.headers.get("content-security-policy")).toContain("script-src 'self'");
    // A page on another name that resolves here (DNS rebinding) is refused by its Host header.
    const foreign = await new Promise<number>((resolve, reject) => {
      http.get(`${viewer.url}/api/runs`, { headers: { host: "evil.example" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on("error", reject);
    });
    expect(foreign).toBe(421);
  });
});
