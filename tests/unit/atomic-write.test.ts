import { mkdtemp, readFile, readdir, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { writeAtomic, writeJsonAtomic } from "../../src/atomic-write.ts";

describe("writeAtomic", () => {
  it("makes the folder, writes privately by default, and leaves no temp file", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "atomic-"));
    const file = path.join(dir, "nested", "state.json");
    await writeJsonAtomic(file, { a: 1 });
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ a: 1 });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    await writeAtomic(file, "shared\n", 0o644);
    expect((await stat(file)).mode & 0o777).toBe(0o644);
    expect(await readdir(path.dirname(file))).toEqual(["state.json"]);
  });

  it("never shows a reader a mix of two writers' contents", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "atomic-"));
    const file = path.join(dir, "pins.json");
    const big = (mark: string) => ({ mark, body: mark.repeat(200_000) });
    const writes = Array.from({ length: 20 }, (_, i) => writeJsonAtomic(file, big(String.fromCharCode(97 + (i % 2)))));
    const reads: string[] = [];
    const reader = (async () => {
      for (let i = 0; i < 50; i++) reads.push(await readFile(file, "utf8").catch(() => ""));
    })();
    await Promise.all([...writes, reader]);
    for (const raw of reads.filter((r) => r !== "")) {
      const value = JSON.parse(raw) as { mark: string; body: string };
      expect(value.body).toBe(value.mark.repeat(200_000));
    }
    expect(await readdir(dir)).toEqual(["pins.json"]);
  });
});
