import { randomUUID } from "node:crypto";
import type { RunState } from "../../graphs/state.ts";
import { openCheckpointer } from "../checkpoint.ts";
import type { AppConfig } from "../config.ts";
import { postgresUrl } from "../pg-url.ts";
import type { RunInput } from "../run/drive.ts";
import { maskSecrets, SecretStore } from "../secrets.ts";
import { openRunQueue, parseQueueUrl, type RunJobData, type RunJobResult, type RunProgress } from "../worker/queue.ts";
import { submit } from "../worker/submit.ts";
import { answerFlag, UsageError } from "./args.ts";
import { EXIT, type Io } from "./io.ts";
import { renderPlan } from "./render.ts";
import { finish } from "./run.ts";
import { LiveProgress } from "./terminal.ts";

export interface QueueOptions {
  queue?: string;
  wait?: boolean;
  json?: boolean;
  checkpointer?: string;
}


/**
 * `run … --queue redis://…`: the run goes to the workers. Its input is stored with secret handles
 * (a value that looks like a secret becomes `secret://…` in the Postgres secret store the workers
 * share), so the job never holds a secret. Prints the thread id; `--wait` follows the run with the
 * same live output and exit codes as a local run.
 */
export async function queuedRunCommand(input: RunInput, threadId: string | undefined, queueUrl: string, options: QueueOptions, config: AppConfig, io: Io): Promise<number> {
  const target = parseQueueUrl(queueUrl);
  const checkpointerUrl = sharedCheckpointer(options, config);
  const secrets = await SecretStore.open(config.home, { keyHex: config.env.CREDIT_OPTIMIZER_SECRET_KEY, checkpointerUrl });
  let protectedInput: RunInput;
  try {
    protectedInput = await secrets.protect(input);
  } finally {
    await secrets.close();
  }
  const thread = threadId ?? `run-${randomUUID()}`;
  return submitAndReport({ kind: "start", threadId: thread, input: protectedInput, submittedAt: new Date().toISOString() }, target, options, io);
}

/** `resume <thread> --queue …`: the continuation (with the answer, if any) goes to the workers. */
export async function queuedResumeCommand(threadId: string, queueUrl: string, options: QueueOptions & { approve?: boolean; reject?: boolean }, config: AppConfig, io: Io): Promise<number> {
  const target = parseQueueUrl(queueUrl);
  const approved = answerFlag(options.approve, options.reject);
  const url = sharedCheckpointer(options, config);
  const checkpointer = await openCheckpointer({ home: config.home, url });
  try {
    const tuple = await checkpointer.saver.getTuple({ configurable: { thread_id: threadId, checkpoint_ns: "" } });
    if (!tuple) {
      io.err(`error: no run found on thread "${threadId}" in ${checkpointer.description}; nothing was queued`);
      return EXIT.badInput;
    }
  } finally {
    await checkpointer.close();
  }
  const answer = approved === undefined ? undefined : { approved };
  return submitAndReport({ kind: "resume", threadId, ...(answer ? { answer } : {}), submittedAt: new Date().toISOString() }, target, options, io);
}

/** Queued runs live in the Postgres database every worker shares; SQLite stays on one machine. */
function sharedCheckpointer(options: QueueOptions, config: AppConfig): string {
  const url = options.checkpointer ?? config.databaseUrl;
  const pg = postgresUrl(url);
  if (!pg) {
    throw new UsageError(
      `a queued run needs the Postgres checkpointer the workers share (${url ? `"${maskSecrets(url)}"` : "the default SQLite file"} stays on this machine): set DATABASE_URL=postgres://… or --checkpointer postgres://…`,
    );
  }
  return url!;
}

async function submitAndReport(data: RunJobData, target: ReturnType<typeof parseQueueUrl>, options: QueueOptions, io: Io): Promise<number> {
  const json = options.json ?? false;
  const queue = await openRunQueue(target);
  try {
    const progress = json ? undefined : new LiveProgress({ write: (t) => process.stderr.write(t), tty: process.stderr.isTTY === true });
    const follow = options.wait
      ? (p: RunProgress): void => {
          if (p.type === "planned") io.err(renderPlan(p.state as RunState));
          else progress?.onEvent(p.event);
        }
      : undefined;
    const submission = await submit(queue, data, { follow });
    const what = data.kind === "start" ? "run" : "continuation";
    if (submission.queued) io.err(`queued the ${what} of thread ${data.threadId} on ${target.display} (queue "${target.name}")`);
    else io.err(`thread ${data.threadId} is already on the queue (${submission.previous}); nothing new was queued`);
    if (!submission.done) {
      io.out(json ? JSON.stringify({ threadId: data.threadId, queued: submission.queued, state: submission.queued ? "waiting" : submission.previous }) : data.threadId);
      if (!json) io.err(`follow it with: credit-optimizer runs --queue ${target.display}; its report: credit-optimizer resume ${data.threadId}`);
      return EXIT.ok;
    }
    let result: RunJobResult;
    try {
      result = await submission.done;
    } finally {
      progress?.stop();
    }
    if (!json) io.err(`thread ${data.threadId} ran on ${result.worker}${result.recalls.length > 0 ? `; called again after a hand-over: ${result.recalls.join(", ")}` : ""}`);
    return finish(result, data.threadId, json, io);
  } finally {
    await queue.close();
  }
}
