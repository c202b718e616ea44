import path from "node:path";
import { describe, expect, it } from "vitest";
import { startCli, waitFor } from "../helpers/cli.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

/** Starts `ui` with the given flags and returns the URL it printed, and how to stop it. */
async function startUi(args: string[]) {
  const home = path.join(tempDir("co-ui-cli-"), "home");
  const ui = startCli(["ui", "--port", "0", ...args], { CREDIT_OPTIMIZER_HOME: home });
  let stdout = "";
  ui.child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  await waitFor(() => /https?:\/\/\S+/.test(stdout), 60_000, "the ui's URL");
  const printed = /(https?:\/\/\S+)/.exec(stdout)![1]!;
  return { printed, stdout: () => stdout, stop: async () => (ui.child.kill("SIGINT"), await ui.done) };
}

describe("credit-optimizer ui", () => {
  it("serves the runs of the CLI's state on 127.0.0.1 and stops on Ctrl-C", async () => {
    const ui = await startUi([]);
    expect(ui.printed).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const runs = await fetch(`${ui.printed}/api/runs`);
    expect(runs.status).toBe(200);
    expect(await runs.json()).toEqual({ runs: [] });
    const page = await (await fetch(ui.printed)).text();
    expect(page).toContain('<script src="/assets/app.js"');
    const done = await ui.stop();
    expect(done.code, done.stderr).toBe(0);
  });

  it("on another address, needs the token it prints once", async () => {
    const ui = await startUi(["--host", "0.0.0.0"]);
    const token = new URL(ui.printed).searchParams.get("token");
    expect(token).toMatch(/^[\w-]{20,}$/);
    const base = ui.printed.replace("0.0.0.0", "127.0.0.1").replace(/\/\?token=.*$/, "");
    expect((await fetch(`${base}/api/runs`)).status).toBe(401);
    expect((await fetch(`${base}/api/runs`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    const login = await fetch(`${base}/?token=${token}`, { redirect: "manual" });
    expect(login.status).toBe(303);
    expect(login.headers.get("set-cookie")).toContain("HttpOnly");
    expect(ui.stdout().split(token!).length - 1).toBe(1);
    const done = await ui.stop();
    expect(done.code, done.stderr).toBe(0);
  });

  it("a bad --port is an input error", async () => {
    const home = path.join(tempDir("co-ui-cli-"), "home");
    const result = await startCli(["ui", "--port", "http"], { CREDIT_OPTIMIZER_HOME: home }).done;
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--port must be a port number (0–65535), got "http"');
  });
});
