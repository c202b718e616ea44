import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { checkLength, resolveSessionId, SessionIdField, toolResult, type ThinkingContext } from "../context.ts";
import type { BranchInput, ExplorationInput } from "../store.ts";

const Branch = z.object({
  branchId: z.string().min(1).max(200).describe("Name of this line of thought"),
  thought: z.string().describe("The approach or answer this branch explores"),
  confidence: z.number().min(0).max(1).optional().describe("How likely this branch is right, 0–1 (default 0.5)"),
  pros: z.array(z.string()).optional(),
  cons: z.array(z.string()).optional(),
});

export const ExplorationFields = {
  question: z.string().min(1).describe("The question every branch answers"),
  branches: z
    .array(Branch)
    .min(2)
    .max(16)
    .superRefine((branches, ctx) => {
      const seen = new Set<string>();
      branches.forEach((branch, i) => {
        if (seen.has(branch.branchId)) {
          ctx.addIssue({ code: "custom", path: [i, "branchId"], message: `duplicate branchId "${branch.branchId}"` });
        }
        seen.add(branch.branchId);
      });
    })
    .describe("2–16 alternative branches explored side by side"),
  conclusion: z.string().optional().describe("What you concluded from the comparison, if anything yet"),
};

const Ranked = z.object({
  branchId: z.string(),
  confidence: z.number(),
  pros: z.number().int(),
  cons: z.number().int(),
});

const OutputFields = {
  sessionId: z.string(),
  explorationNumber: z.number().int(),
  question: z.string(),
  comparison: z.array(Ranked),
  recommendedBranchId: z.string(),
  tie: z.boolean(),
};

type RankedBranch = z.infer<typeof Ranked>;

const DESCRIPTION = `Explore several branches of one question side by side and compare them. Give each branch a thought,
optionally a confidence (0–1) and pros/cons; the branches are ranked by confidence (default 0.5), then by pros minus cons,
then in the order given. The exploration is recorded in the same session as sequential_thinking.`;

export function registerParallelThinking(server: McpServer, context: ThinkingContext): void {
  server.registerTool(
    "parallel_thinking",
    {
      title: "Parallel thinking",
      description: DESCRIPTION,
      inputSchema: { ...ExplorationFields, sessionId: SessionIdField },
      outputSchema: OutputFields,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    ({ sessionId, ...exploration }, extra) =>
      toolResult(() => {
        checkExplorationLengths(exploration, context.maxThoughtLength);
        const session = resolveSessionId(sessionId, extra.sessionId, context.agentId);
        const record = context.store.addExploration(session, exploration);
        const comparison = rankBranches(exploration.branches);
        const [first, second] = comparison as [RankedBranch, RankedBranch];
        return {
          sessionId: session,
          explorationNumber: record.explorationNumber,
          question: exploration.question,
          comparison,
          recommendedBranchId: first.branchId,
          tie: compareRanked(first, second) === 0,
        };
      }),
  );
}

/** Branches best first: confidence, then pros minus cons; a stable sort keeps the given order on ties. */
function rankBranches(branches: BranchInput[]): RankedBranch[] {
  return branches
    .map((b) => ({ branchId: b.branchId, confidence: b.confidence ?? 0.5, pros: b.pros?.length ?? 0, cons: b.cons?.length ?? 0 }))
    .sort(compareRanked);
}

function compareRanked(a: RankedBranch, b: RankedBranch): number {
  return b.confidence - a.confidence || b.pros - b.cons - (a.pros - a.cons);
}

function checkExplorationLengths(exploration: ExplorationInput, max: number): void {
  checkLength("question", exploration.question, max);
  checkLength("conclusion", exploration.conclusion, max);
  exploration.branches.forEach((branch, i) => {
    checkLength(`branches[${i}].thought`, branch.thought, max);
    branch.pros?.forEach((text, j) => checkLength(`branches[${i}].pros[${j}]`, text, max));
    branch.cons?.forEach((text, j) => checkLength(`branches[${i}].cons[${j}]`, text, max));
  });
}
