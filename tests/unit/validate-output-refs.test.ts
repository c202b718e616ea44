import { describe, expect, it } from "vitest";
import { formatProblem, validatePlan } from "../../src/plan/validate.ts";
import { FakeCaller } from "../helpers/fake-caller.ts";

/** A filesystem-like server: `read` declares { content }, `info` a nested schema, `echo` none. */
function caller(): FakeCaller {
  const pathSchema = { type: "object", properties: { path: { type: "string" } }, required: ["path"], additionalProperties: false };
  const writeSchema = {
    type: "object",
    properties: { path: { type: "string" }, content: { type: "string" }, count: { type: "integer" }, tags: { type: "array" } },
    required: ["path"],
    additionalProperties: false,
  };
  const c = new FakeCaller();
  c.add("fs", "read", () => ({ content: "x" }), pathSchema, { readOnlyHint: true }, {
    type: "object",
    properties: { content: { type: "string" } },
    required: ["content"],
    additionalProperties: false,
  });
  c.add("fs", "info", () => ({}), pathSchema, { readOnlyHint: true }, {
    type: "object",
    properties: {
      size: { type: "integer" },
      owner: { type: "object", properties: { name: { type: "string" } } },
      lines: { type: "array", items: { type: "object", properties: { n: { type: "integer" } } } },
      extra: { type: "object", additionalProperties: { type: "string" } },
      alt: { anyOf: [{ type: "object", properties: { a: { type: "string" } } }, { $ref: "#/$defs/b" }] },
    },
    $defs: { b: { type: "object", properties: { b: { type: "string" } } } },
  });
  c.add("fs", "write", () => ({}), writeSchema, { destructiveHint: false });
  c.add("fs", "echo", () => "text", { type: "object", properties: { message: { type: "string" } } }, { readOnlyHint: true });
  return c;
}

function check(params: Record<string, unknown>, source = "fs.read") {
  const result = validatePlan(
    { name: "p", steps: [{ id: "src", tool: source, params: { path: "/a" } }, { id: "dst", tool: "fs.write", params: { path: "/b", ...params } }] },
    { tools: caller().tools },
  );
  return result.ok ? { ok: true, problems: [], notes: result.prepared.notes } : { ok: false, problems: result.problems.map(formatProblem), notes: result.notes };
}

describe("references to outputs are checked against the declared outputSchema before the run", () => {
  it("a field the schema does not declare is refused, naming the step, the field and the fields there are", () => {
    expect(check({ content: "${src.contents}" }).problems).toEqual([
      'step "dst", params.content: ${src.contents}: the output of step "src" (fs.read) has no field "src.contents" (its outputSchema declares: content)',
    ]);
  });

  it("declared fields, ${src.text} and ${src} pass", () => {
    const result = check({ content: "${src.content} and ${src.text}", tags: ["${src}"] });
    expect(result.problems).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it("nested fields, list items, anyOf branches and local $refs", () => {
    const ok = check({ content: "${src.owner.name} ${src.lines.0.n} ${src.alt.a} ${src.alt.b}" }, "fs.info");
    expect(ok.problems).toEqual([]);
    expect(check({ content: "${src.owner.nam}" }, "fs.info").problems).toEqual([
      'step "dst", params.content: ${src.owner.nam}: the output of step "src" (fs.info) has no field "src.owner.nam" (its outputSchema declares: name)',
    ]);
    expect(check({ content: "${src.size.bytes}" }, "fs.info").problems).toEqual([
      'step "dst", params.content: ${src.size.bytes}: "src.size" is an integer by its outputSchema and has no fields',
    ]);
  });

  it("an open part of the schema is left to run time, and validate says so", () => {
    const result = check({ content: "${src.extra.anything}" }, "fs.info");
    expect(result.ok).toBe(true);
    expect(result.notes).toContain('step "dst" reads ${src.extra.anything}: checked at run time, since fs.info (step "src") leaves that part of its outputSchema open');
  });

  it("without an outputSchema the reference is checked at run time, and validate says so", () => {
    const result = check({ content: "${src.whatever}" }, "fs.echo");
    expect(result.ok).toBe(true);
    expect(result.notes).toContain('step "dst" reads ${src.whatever}: checked at run time, since fs.echo (step "src") declares no outputSchema');
  });

  it("a whole reference must fit the parameter's type", () => {
    expect(check({ count: "${src.content}" }).problems).toEqual([
      'step "dst", params.count: ${src.content} is a string (by the outputSchema of step "src"), but fs.write wants an integer here',
    ]);
    expect(check({ content: "${src}" }).problems).toEqual([
      'step "dst", params.content: ${src} is an object (by the outputSchema of step "src"), but fs.write wants a string here; embed it in text ("… ${src} …") to pass it as JSON text',
    ]);
    expect(check({ content: "${src.text}" }).problems).toEqual([]);
    expect(check({ count: "${src.size}" }, "fs.info").problems).toEqual([]);
  });

  it("a broker step (toolkit_call with a literal tool_name) is checked against the inner tool's outputSchema", () => {
    const c = caller();
    c.add("fs", "toolkit_call", () => ({}), { type: "object" }, { destructiveHint: false }, { type: "object", additionalProperties: {} });
    const plan = (ref: string) => ({
      name: "p",
      steps: [
        { id: "src", tool: "fs.toolkit_call", params: { category: "fs", tool_name: "read", arguments: { path: "/a" } } },
        { id: "dst", tool: "fs.write", params: { path: "/b", content: ref } },
      ],
    });
    const bad = validatePlan(plan("${src.contents}"), { tools: c.tools });
    expect(bad.ok ? [] : bad.problems.map(formatProblem)).toEqual([
      'step "dst", params.content: ${src.contents}: the output of step "src" (fs.read via toolkit_call) has no field "src.contents" (its outputSchema declares: content)',
    ]);
    expect(validatePlan(plan("${src.content}"), { tools: c.tools }).ok).toBe(true);
  });

  it("rollback params are checked too", () => {
    const result = validatePlan(
      {
        name: "p",
        steps: [{ id: "src", tool: "fs.read", params: { path: "/a" }, rollback: { tool: "fs.write", params: { path: "${src.nope}" } } }],
      },
      { tools: caller().tools },
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map(formatProblem)).toEqual([
      'step "src", rollback.params.path: ${src.nope}: the output of step "src" (fs.read) has no field "src.nope" (its outputSchema declares: content)',
    ]);
  });
});
