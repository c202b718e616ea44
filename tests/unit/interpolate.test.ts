import { describe, expect, it } from "vitest";
import { findReferences, interpolate, isInterpolationError } from "../../src/plan/interpolate.ts";

const scope = {
  steps: { db: { project_id: "p-1", port: 5432, config: { region: "eu" }, hosts: ["a", "b"] } },
  params: { name: "crawler", replicas: 3 },
};

describe("interpolate", () => {
  it("keeps the JSON type of a whole-string reference", () => {
    expect(interpolate({ port: "${db.port}", config: "${db.config}", replicas: "${replicas}" }, scope)).toEqual({
      port: 5432,
      config: { region: "eu" },
      replicas: 3,
    });
  });

  it("substitutes references inside longer strings, JSON-encoding non-strings", () => {
    expect(interpolate("${name}-${db.project_id}:${db.port}/${db.config}", scope)).toBe('crawler-p-1:5432/{"region":"eu"}');
  });

  it("reads array elements by index", () => {
    expect(interpolate({ h: "${db.hosts.1}" }, scope)).toEqual({ h: "b" });
  });

  it("never scans substituted values again", () => {
    const hostile = { steps: { evil: { text: "${db.project_id}" }, db: { project_id: "secret-id" } }, params: {} };
    expect(interpolate({ a: "${evil.text}", b: "x ${evil.text} y" }, hostile)).toEqual({ a: "${db.project_id}", b: "x ${db.project_id} y" });
  });

  it("names the field and the missing output field", () => {
    try {
      interpolate({ arguments: { id: "${db.nope}" } }, scope);
      expect.unreachable();
    } catch (error) {
      expect(isInterpolationError(error)).toBe(true);
      expect((error as Error).message).toBe('params.arguments.id: ${db.nope} — the output of step "db" has no field "db.nope" (fields there: project_id, port, config, hosts)');
    }
  });

  it("finds every reference with its field", () => {
    expect(findReferences({ a: ["${x.y}", { b: "pre ${name} ${z.w.v}" }] }).map((r) => [r.root, r.path.join("."), r.field])).toEqual([
      ["x", "y", "params.a[0]"],
      ["name", "", "params.a[1].b"],
      ["z", "w.v", "params.a[1].b"],
    ]);
  });
});
