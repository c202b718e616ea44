import { setTimeout as sleep } from "node:timers/promises";
import { mayHaveHappened, ProviderError } from "./http.ts";

export interface CreateOnceSteps<T> {
  /** The create call itself (never retried blind by the HTTP client: POSTs are not idempotent). */
  create: () => Promise<T>;
  /** Looks the resource up by the name the create used; undefined when it is not there. */
  find: () => Promise<T | undefined>;
}

export interface CreateOnceOptions {
  /** Create attempts in all (default 3). */
  attempts?: number;
  /** Wait before creating again after a lookup found nothing (default 500 ms, doubling). */
  delayMs?: number;
  signal?: AbortSignal;
}

/**
 * Creates a resource whose provider has no idempotency key without ever creating it twice.
 * When the create fails in a way that may hide a success (a 5xx, a timeout, a dropped
 * connection), it looks the resource up by name: what it finds is adopted (this call made it,
 * so its rollback belongs to this run); when nothing is there, it creates again. Failures that
 * certainly did nothing (4xx, and 423/429 the HTTP client already retried) are thrown as they are.
 */
export async function createOnce<T>(what: string, steps: CreateOnceSteps<T>, options: CreateOnceOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 3;
  let delay = options.delayMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    let failure: unknown;
    try {
      return await steps.create();
    } catch (error) {
      if (!mayHaveHappened(error)) throw error;
      failure = error;
    }
    let found: T | undefined;
    try {
      found = await steps.find();
    } catch (lookupError) {
      const original = failure as ProviderError;
      const reason = lookupError instanceof Error ? lookupError.message : String(lookupError);
      throw new ProviderError(
        original.provider,
        original.status,
        `${stripPrefix(original)} — ${what} may have been created, and looking it up by name failed too (${reason}); check before running this again`,
        "unknown",
      );
    }
    if (found !== undefined) return found;
    if (attempt >= attempts) {
      const original = failure as ProviderError;
      throw new ProviderError(
        original.provider,
        original.status,
        `${stripPrefix(original)} (${what} is not there after ${attempts} attempts; nothing was created)`,
        "not-done",
      );
    }
    await sleep(delay, undefined, { signal: options.signal });
    delay *= 2;
  }
}

/** The message without the "provider: HTTP n: " prefix the constructor adds again. */
function stripPrefix(error: ProviderError): string {
  return error.message.replace(/^[^:]+: (?:HTTP \d+|request failed): /, "");
}

/**
 * For a create that cannot be looked up afterwards (no name to find it by): an uncertain failure
 * is rethrown saying the resource may exist, so nobody repeats it blind.
 */
export function noteMaybeCreated(error: unknown, what: string): never {
  if (error instanceof ProviderError && mayHaveHappened(error)) {
    throw new ProviderError(error.provider, error.status, `${stripPrefix(error)} — ${what} may have been created all the same; check before running this again`, "unknown");
  }
  throw error;
}
