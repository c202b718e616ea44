import type { ToolInfo } from "../../src/mcp/catalog.ts";
import { ToolCallError, type CallOptions, type ToolCaller } from "../../src/mcp/client.ts";

export interface RecordedCall {
  server: string;
  tool: string;
  args: Record<string, unknown>;
  startedAt: number;
  endedAt?: number;
}

type Behaviour = (args: Record<string, unknown>, call: number) => unknown | Promise<unknown>;

/**
 * An in-process ToolCaller: tools with JSON schemas and scripted behaviour, recording every call.
 * A behaviour throws ToolCallError to fail.
 */
export class FakeCaller implements ToolCaller {
  readonly calls: RecordedCall[] = [];
  readonly tools: ToolInfo[] = [];
  private readonly behaviours = new Map<string, Behaviour>();

  /**
   * A tool; `annotations` default to `{ destructiveHint: false }` (the fakes stand in for annotated
   * tools); `null` leaves the tool unannotated, as some third-party servers do.
   */
  add(
    server: string,
    name: string,
    behaviour: Behaviour,
    schema: Record<string, unknown> = { type: "object" },
    annotations: ToolInfo["annotations"] | null = { destructiveHint: false },
    outputSchema?: Record<string, unknown>,
  ): this {
    this.tools.push({ server, name, description: `${name} on ${server}`, inputSchema: schema, ...(annotations ? { annotations } : {}), ...(outputSchema ? { outputSchema } : {}) });
    this.behaviours.set(`${server}.${name}`, behaviour);
    return this;
  }

  async call(server: string, tool: string, args: Record<string, unknown>, options: CallOptions = {}): Promise<unknown> {
    const behaviour = this.behaviours.get(`${server}.${tool}`);
    if (!behaviour) throw new ToolCallError("UNKNOWN_SERVER", `no ${server}.${tool}`, false);
    const record: RecordedCall = { server, tool, args, startedAt: Date.now() };
    this.calls.push(record);
    const n = this.calls.filter((c) => c.server === server && c.tool === tool).length;
    try {
      const work = Promise.resolve(behaviour(args, n));
      if (options.timeoutMs === undefined) return await work;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new ToolCallError("TIMEOUT", `${server}.${tool} timed out`, true)), options.timeoutMs);
      });
      try {
        return await Promise.race([work, timeout]);
      } finally {
        clearTimeout(timer);
      }
    } finally {
      record.endedAt = Date.now();
    }
  }

  callsOf(tool: string): RecordedCall[] {
    return this.calls.filter((c) => c.tool === tool);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A server `infra` with `create` (returns a rollback), `delete` (destructive) and `noop` (read-only).
 * `gate`: name → what its create awaits after its `ms` (a condition the test needs while it runs).
 */
export function infraCaller(options: { failOn?: string[]; failDeleteOn?: string[]; ms?: Record<string, number>; gate?: Record<string, () => Promise<unknown>> } = {}): FakeCaller {
  const caller = new FakeCaller();
  const nameSchema = { type: "object", properties: { name: { type: "string" }, value: {} }, required: ["name"], additionalProperties: false };
  caller.add("infra", "create", async (args) => {
    const name = String(args["name"]);
    await sleep(options.ms?.[name] ?? 0);
    await options.gate?.[name]?.();
    if (options.failOn?.includes(name)) throw new ToolCallError("TOOL_ERROR", `create ${name} failed`, false);
    return { id: `id-${name}`, name, value: args["value"], rollback: { tool: "delete", arguments: { id: `id-${name}` } } };
  }, nameSchema, { destructiveHint: false });
  caller.add("infra", "delete", async (args) => {
    if (options.failDeleteOn?.includes(String(args["id"]))) throw new ToolCallError("TOOL_ERROR", `delete ${String(args["id"])} failed`, false);
    return { deleted: args["id"] };
  }, { type: "object", properties: { id: { type: "string" } }, required: ["id"] }, { destructiveHint: true });
  caller.add("infra", "noop", async (args) => {
    await sleep(options.ms?.[String(args["name"])] ?? 0);
    return { name: args["name"], value: args["value"] };
  }, nameSchema, { readOnlyHint: true });
  return caller;
}
