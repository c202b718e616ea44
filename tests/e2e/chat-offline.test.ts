import path from "node:path";
import { describe, expect, it } from "vitest";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { agentThread, checkpointMemory } from "../../agents/memory.ts";
import { runCli } from "../helpers/cli.ts";
import { tempDir } from "../helpers/fake-mcp.ts";

/** No model, no provider tokens: the offline planner and the local backends. */
/** What the architect's thread of a chat session holds, read from the state's checkpointer file. */
async function architectThread(env: Record<string, string>, session: string) {
  const saver = SqliteSaver.fromConnString(path.join(env["CREDIT_OPTIMIZER_HOME"]!, "checkpoints.sqlite"));
  try {
    return await checkpointMemory(saver).load(agentThread(session, "architect"));
  } finally {
    saver.db.close();
  }
}

function offlineEnv(): Record<string, string> {
  return { CREDIT_OPTIMIZER_HOME: path.join(tempDir("co-chat-"), ".co"), LANGGRAPH_CLI_NO_ANALYTICS: "1" };
}

/** Each turn's answer (it starts where the planner says what it made of the turn) must say each thing once. */
function repeatedLines(text: string): string[] {
  const repeated: string[] = [];
  for (const turn of text.split(/^(?=(?:> )?(?:plan "|to plan |✗ could not plan))/m)) {
    const seen = new Set<string>();
    for (const line of turn.split("\n").map((l) => l.trim()).filter(Boolean)) {
      if (seen.has(line)) repeated.push(line);
      seen.add(line);
    }
  }
  return repeated;
}

/** The report blocks on stdout, one per turn, each starting at its title line. */
function reports(stdout: string): string[] {
  return stdout.split(/\n(?=\S)/).filter((b) => !b.startsWith("  "));
}

describe("chat with the offline planner: a conversation across a restart", () => {
  it("new requests, refinements shown as diffs, a reference, a teardown, a failed turn in two lines, a question answered inline, and the session after a restart", async () => {
    const env = offlineEnv();
    const first = await runCli(
      ["chat", "--session", "demo"],
      env,
      [
        "I need an upstash redis called sessions in eu-west-1", // 1. new request
        "a", // approval: it runs
        "make it eu-central-1", // 2. refinement
        "c",
        "create a neon project called orders with a database named shop", // 3. an unrelated new request
        "c",
        "call it billing instead", // 4. refinement
        "c",
        "hello there", // 5. nothing to plan
        "tear it down", // 6. a reference to the earlier result: the redis run
        "a",
        "exit",
      ].join("\n") + "\n",
    );
    expect(first.code).toBe(0);
    const err1 = first.stderr;
    // 1: planned on its own and run.
    expect(err1).toContain('plan "Upstash Redis Setup" from the catalog planner');
    expect(first.stdout).toContain("Upstash Redis Setup — succeeded");
    // 2: the same plan edited, and the diff says what changed.
    expect(err1).toContain("read as a refinement: changes the last plan (upstash-redis-setup)");
    expect(err1).toContain('  ~ region: "eu-west-1" → "eu-central-1"');
    // 3: a new request is not diluted by the earlier ones.
    expect(err1).toMatch(/plan "Neon Database Full Setup" from the catalog planner[^\n]*"neon-full-setup"/);
    expect(err1).toContain('param project_name = "orders" (request: "orders")');
    // 4: the neon plan renamed, not the redis one.
    expect(err1).toContain("read as a refinement: changes the last plan (neon-full-setup)");
    expect(err1).toContain('  ~ project_name: "orders" → "billing"');
    // 5: one line of what went wrong, one of what to do; no summary, no thread, no repeats.
    const failed = reports(first.stdout).filter((r) => r.startsWith("✗ could not plan"));
    expect(failed).toHaveLength(1);
    expect(failed[0]!.split("\n")).toHaveLength(2);
    expect(failed[0]).toMatch(/^✗ could not plan: no workflow matches the request\n {2}offline I can: /);
    // 6: "it" is the redis database the first turn made, deleted with the call its create step returned.
    expect(err1).toMatch(/read as a reference to an earlier result: tears down what run-[0-9a-f-]+ \("Upstash Redis Setup"\) created/);
    expect(err1).toContain("undo_create_redis (toolkit.upstash_delete_database)");
    expect(first.stdout).toMatch(/Tear down Upstash Redis Setup \(run-[0-9a-f-]+\) — succeeded/);
    expect(repeatedLines(err1)).toEqual([]);
    expect(repeatedLines(first.stdout)).toEqual([]);

    const second = await runCli(
      ["chat", "--session", "demo"],
      env,
      [
        "run it again", // 7. after the restart: the last plan (billing), unchanged
        "a",
        "back up that database", // 8. "that database": the project turn 7 made
        "c",
        "open a pull request", // 9. a question, answered inline
        "api",
        "c",
        "exit",
      ].join("\n") + "\n",
    );
    expect(second.code).toBe(0);
    const err2 = second.stderr;
    expect(err2).toContain("read as a refinement: runs the last plan (neon-full-setup) again");
    expect(err2).toContain('param project_name = "billing" (previous)');
    expect(second.stdout).toContain("Neon Database Full Setup — succeeded");
    expect(err2).toMatch(/read as a reference to an earlier result: points at what this session made: Neon project "billing" \(run-/);
    expect(err2).toMatch(/param project_id = "[^"]+" \(inventory; made earlier in this session\)/);
    expect(err2).toContain('to plan "Open a Pull Request" I need one answer');
    expect(err2).toContain('param project = "api" (answer)');
    expect(second.stdout).toContain("Open a Pull Request — declined");
    expect(repeatedLines(err2)).toEqual([]);
    expect(repeatedLines(second.stdout)).toEqual([]);

    const history = await runCli(["chat", "--session", "demo", "--history"], env);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/> call it billing instead\n\s+plan "Neon Database Full Setup" \(neon-full-setup\)/);
    expect(history.stdout).toMatch(/> hello there\n\s+could not plan: no workflow matches the request\n/);

    // The architect's thread keeps each plan's memo: that is what the refinements edited.
    const messages = await architectThread(env, "demo");
    const memos = messages.filter((m) => m.memo).map((m) => m.memo!.workflows.map((w) => [w.id, w.values]));
    expect(memos.slice(0, 4)).toEqual([
      [["upstash-redis-setup", { database_name: "sessions", region: "eu-west-1" }]],
      [["upstash-redis-setup", { database_name: "sessions", region: "eu-central-1" }]],
      [["neon-full-setup", { project_name: "orders", database_name: "shop" }]],
      [["neon-full-setup", { project_name: "billing", database_name: "shop" }]],
    ]);
  }, 240_000);

  it("did you mean: chat numbers the close workflows, the pick plans the turn and the next turn refines it; run and plan without a terminal exit 2 with each --workflow", async () => {
    const env = offlineEnv();
    const chat = await runCli(
      ["chat", "--session", "pick"],
      env,
      [
        "give me a place to store files called uploads in eu-west-1", // no template clears the threshold
        "1", // the pick, by number
        "c",
        "make it eu-central-1", // a refinement of the picked plan
        "c",
        "exit",
      ].join("\n") + "\n",
    );
    expect(chat.code).toBe(0);
    const err = chat.stderr;
    expect(err).toContain("did you mean:");
    expect(err).toMatch(/ {2}1\) upstash-redis-setup — Create an Upstash Redis database[^\n]*\n/);
    expect(err).not.toContain("--workflow upstash-redis-setup");
    expect(err).toContain('workflow "upstash-redis-setup", picked from the workflows that came close');
    expect(err).toContain('param database_name = "uploads" (request: "uploads")');
    expect(err).toContain("read as a refinement: changes the last plan (upstash-redis-setup)");
    expect(err).toContain('  ~ region: "eu-west-1" → "eu-central-1"');
    expect(repeatedLines(err)).toEqual([]);
    // The question was not an answer: the architect's thread has the request once, with the picked plan.
    const messages = await architectThread(env, "pick");
    expect(messages.filter((m) => m.role === "user").map((m) => m.content)).toEqual(["give me a place to store files called uploads in eu-west-1", "make it eu-central-1"]);
    expect(messages.some((m) => m.content.startsWith("could not plan"))).toBe(false);

    for (const mode of ["run", "plan"]) {
      const result = await runCli([mode, "give me a place to store files called uploads"], env);
      expect(result.code).toBe(2);
      const lines = result.stdout.trimEnd().split("\n");
      expect(lines[0]).toMatch(/^✗ could not plan: no workflow matches the request well enough \(best score [\d.]+ < [\d.]+\)$/);
      expect(lines[1]).toBe("  did you mean:");
      expect(lines[2]).toMatch(/^ {2}1\) upstash-redis-setup — Create an Upstash Redis database.* \(--workflow upstash-redis-setup\)$/);
    }
  }, 240_000);

  it("run without a terminal: a plan that needs an answer exits 2 with the question and the --param that answers it", async () => {
    const env = offlineEnv();
    const result = await runCli(["run", "back up the database"], env);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('needs an answer before it can plan "Database Backup and Restore":\n  ? Which Neon project (project_id)? (the request names no Neon project, and none exists yet) --param project_id=neon-abc123\n');
  });
});
