import { spawn, type ChildProcess } from "node:child_process";
import { BIN } from "./cli.ts";
import { tempDir } from "./fake-mcp.ts";

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  log(): string;
  exited: Promise<number | null>;
}

/** A worker in its own process with its own state folder: a machine of its own, sharing Redis, Postgres and the secret key. */
export function startWorker(name: string, queue: string, mcp: string, env: Record<string, string>, extra: string[] = []): WorkerProcess {
  const child = spawn(process.execPath, [BIN, "worker", "--queue", queue, "--name", name, "--mcp-config", mcp, ...extra], {
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", CREDIT_OPTIMIZER_HOME: tempDir(`co-${name}-`), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  return { name, child, log: () => log, exited: new Promise((resolve) => child.on("exit", (code) => resolve(code))) };
}
