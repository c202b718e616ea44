import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BIN, processAlive, waitFor } from "../helpers/cli.ts";

// A served built-in server whose client goes away in the middle of a call: the server leaves only
// once that call's cleanup is done (src/cli/serve-server.ts leaves as soon as nothing is left to do).

const home = mkdtempSync(path.join(tmpdir(), "serve-exit-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

interface Registry {
  projects: Record<string, { deployment?: { pid: number; ready: boolean } }>;
}

function registry(): Registry | undefined {
  const file = path.join(home, "toolkit", "deploys", "fly.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Registry) : undefined;
}

describe("serve, when stdin closes during a call", () => {
  it("finishes the call's cleanup (a deploy that never became healthy is stopped and unrecorded) before it exits", async () => {
    // An app that starts but never answers its health check: the deploy call waits until it is aborted.
    const app = path.join(home, "workspace", "stuck");
    mkdirSync(app, { recursive: true });
    writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "stuck", type: "module", scripts: { start: "node hang.js" } }));
    writeFileSync(path.join(app, "hang.js"), "setInterval(() => {}, 1000);\n");

    const server = spawn(process.execPath, [BIN, "serve", "toolkit"], {
      cwd: home,
      env: { PATH: process.env["PATH"] ?? "", HOME: home, CREDIT_OPTIMIZER_HOME: home, CREDIT_OPTIMIZER_WORKSPACE: path.join(home, "workspace") },
      stdio: ["pipe", "pipe", "inherit"],
    });
    const exited = new Promise<number | null>((resolve) => server.on("close", (code) => resolve(code)));
    const answers = new Map<number, unknown>();
    let buffered = "";
    server.stdout.on("data", (data: Buffer) => {
      buffered += data.toString();
      for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
        const message = JSON.parse(buffered.slice(0, at)) as { id?: number };
        buffered = buffered.slice(at + 1);
        if (message.id !== undefined) answers.set(message.id, message);
      }
    });
    const send = (message: object): void => void server.stdin.write(`${JSON.stringify(message)}\n`);
    send({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "test", version: "1" } } });
    await waitFor(() => answers.has(1), 30_000, "initialize");
    send({ jsonrpc: "2.0", method: "notifications/initialized" });
    send({ jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "fly_create_app", arguments: { app_name: "stuck" } } });
    await waitFor(() => answers.has(2), 30_000, "fly_create_app");
    send({ jsonrpc: "2.0", id: 3, method: "tools/call", params: { name: "fly_deploy", arguments: { app_name: "stuck" } } });
    // The deploy has started the app (recorded, not ready): the client goes away now.
    await waitFor(() => registry()?.projects["stuck"]?.deployment !== undefined, 30_000, "the deploy to start the app");
    const pid = registry()!.projects["stuck"]!.deployment!.pid;
    expect(processAlive(pid)).toBe(true);
    server.stdin.end();

    expect(await exited).toBe(0);
    expect(answers.has(3)).toBe(false);
    expect(registry()!.projects["stuck"]!.deployment).toBeUndefined();
    expect(processAlive(pid)).toBe(false);
  });
});
