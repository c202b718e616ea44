import net, { type AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createOnce } from "../../src/servers/toolkit/create-once.ts";
import { createHttpClient, isProviderError, mayHaveHappened, parseRetryAfter, ProviderError } from "../../src/servers/toolkit/http.ts";
import { maskSecrets } from "../../src/secrets.ts";
import { startFakeHttp, type FakeHttp } from "../fixtures/fakes/http-fake.ts";

describe("toolkit HTTP helper", () => {
  let fake: FakeHttp;
  beforeEach(async () => {
    fake = await startFakeHttp((req) => ({ status: 200, body: { path: req.path, query: Object.fromEntries(req.query), body: req.body } }));
  });
  afterEach(async () => {
    await fake.close();
  });

  const client = (overrides: Partial<Parameters<typeof createHttpClient>[0]> = {}) =>
    createHttpClient({ provider: "acme", baseUrl: `${fake.url}/v1/`, auth: { type: "bearer", token: "tok-123456" }, retry: { baseDelayMs: 1, maxDelayMs: 5 }, ...overrides });

  it("sends JSON with bearer or basic auth and drops undefined query values", async () => {
    const res = await client().request("/things", { method: "POST", query: { a: 1, b: undefined, c: true }, body: { x: 1 } });
    expect(res.status).toBe(200);
    expect(res.data).toEqual({ path: "/v1/things", query: { a: "1", c: "true" }, body: { x: 1 } });
    expect(fake.requests[0]?.headers.authorization).toBe("Bearer tok-123456");
    expect(fake.requests[0]?.headers["content-type"]).toBe("application/json");
    await client({ auth: { type: "basic", username: "me@x.io", password: "pw-98765" } }).request("/things");
    expect(fake.requests[1]?.headers.authorization).toBe(`Basic ${Buffer.from("me@x.io:pw-98765").toString("base64")}`);
  });

  it("retries 423, 429 and 5xx, honouring retry-after, then succeeds", async () => {
    fake.inject({ method: "GET", path: /things/, times: 1, reply: { status: 423, body: { message: "locked" } } });
    fake.inject({ method: "GET", path: /things/, times: 1, reply: { status: 429, headers: { "retry-after": "0" }, body: { message: "slow down" } } });
    fake.inject({ method: "GET", path: /things/, times: 1, reply: { status: 503, body: "unavailable" } });
    const res = await client().request("/things");
    expect(res.status).toBe(200);
    expect(fake.requests).toHaveLength(4);
  });

  it("does not retry other statuses, nor anything when retry is false", async () => {
    fake.inject({ method: "GET", path: /things/, times: 1, reply: { status: 422, body: { errors: [{ message: "name taken" }] } } });
    await expect(client().request("/things")).rejects.toThrow("acme: HTTP 422: GET /things: name taken");
    fake.inject({ method: "POST", path: /things/, times: 1, reply: { status: 429, body: { message: "slow down" } } });
    const error = await client().request("/things", { method: "POST", retry: false }).catch((e: unknown) => e);
    expect(isProviderError(error)).toBe(true);
    expect(error).toMatchObject({ code: "PROVIDER_ERROR", provider: "acme", status: 429, retryable: true });
    expect(fake.requests).toHaveLength(2);
  });

  it("fails instead of waiting when retry-after exceeds the limit", async () => {
    fake.inject({ method: "GET", path: /things/, times: 1, reply: { status: 429, headers: { "retry-after": "3600" }, body: { message: "quota" } } });
    await expect(client().request("/things")).rejects.toThrow("(retry-after 3600 s exceeds the limit)");
    expect(fake.requests).toHaveLength(1);
  });

  it("removes the token and credentials from error messages", async () => {
    fake.inject({
      method: "GET",
      path: /things/,
      times: 1,
      reply: { status: 400, body: { message: "token tok-123456 rejected; try postgres://u:p4ss@h/db or Bearer abc.def" } },
    });
    const error = (await client().request("/things").catch((e: unknown) => e)) as ProviderError;
    expect(error.message).toBe("acme: HTTP 400: GET /things: token [redacted] rejected; try postgres://u:[redacted]@h/db or Bearer [redacted]");
  });

  it("reports network errors with status 0 after retrying safe methods", async () => {
    const down = createHttpClient({ provider: "acme", baseUrl: "http://127.0.0.1:1", retry: { maxAttempts: 2, baseDelayMs: 1 } });
    const error = (await down.request("/x").catch((e: unknown) => e)) as ProviderError;
    expect(error).toBeInstanceOf(ProviderError);
    expect(error.status).toBe(0);
    expect(error.message).toMatch(/^acme: request failed: GET \/x: /);
  });

  it("parses retry-after as seconds or an HTTP date, and scrubs secret JSON fields", () => {
    expect(parseRetryAfter("2")).toBe(2000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter(new Date(Date.now() - 1000).toUTCString())).toBe(0);
    expect(maskSecrets('{"password":"abc","name":"n"}')).toBe('{"password":"[redacted]","name":"n"}');
  });

  it("never repeats a POST after a 5xx or a timeout, and says the outcome is unknown", async () => {
    fake.inject({ method: "POST", path: /things/, times: 1, reply: { status: 503, body: { message: "unavailable" } } });
    const error = (await client().request("/things", { method: "POST", body: {} }).catch((e: unknown) => e)) as ProviderError;
    expect(error).toMatchObject({ status: 503, outcome: "unknown" });
    expect(mayHaveHappened(error)).toBe(true);
    expect(fake.requests).toHaveLength(1);

    fake.inject({ method: "POST", path: /things/, times: 1, delayMs: 300, reply: { status: 200, body: {} } });
    const timedOut = (await client({ timeoutMs: 50 }).request("/things", { method: "POST", body: {} }).catch((e: unknown) => e)) as ProviderError;
    expect(timedOut).toMatchObject({ status: 0, outcome: "unknown" });
    expect(timedOut.message).toContain("timed out after 50 ms");
    expect(fake.requests).toHaveLength(2);
  });

  it("repeats a POST after 423 and 429 (not done), and an idempotent one after a 5xx", async () => {
    fake.inject({ method: "POST", path: /things/, times: 1, reply: { status: 423, body: { message: "locked" } } });
    fake.inject({ method: "POST", path: /things/, times: 1, reply: { status: 429, headers: { "retry-after": "0" }, body: { message: "slow" } } });
    expect((await client().request("/things", { method: "POST", body: {} })).status).toBe(200);
    expect(fake.requests).toHaveLength(3);
    fake.inject({ method: "POST", path: /things/, times: 1, reply: { status: 500, body: { message: "oops" } } });
    expect((await client().request("/things", { method: "POST", body: {}, idempotent: true })).status).toBe(200);
    expect(fake.requests).toHaveLength(5);
    const refused = await client().request("/things", { method: "PATCH", body: {} }).then(() => "ok");
    expect(refused).toBe("ok");
  });

  it("repeats a POST refused before it was sent (connection refused): the provider never saw it", async () => {
    // A port that was free a moment ago and has nothing listening now.
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", () => resolve()));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const down = createHttpClient({ provider: "acme", baseUrl: `http://127.0.0.1:${port}`, retry: { maxAttempts: 2, baseDelayMs: 1 } });
    const error = (await down.request("/x", { method: "POST", body: {} }).catch((e: unknown) => e)) as ProviderError;
    expect(error).toMatchObject({ status: 0, outcome: "not-done" });
    expect(error.message).toContain("ECONNREFUSED");
    expect(mayHaveHappened(error)).toBe(false);
  });

  it("gives one call its own timeout, longer than the client's", async () => {
    fake.inject({ method: "GET", path: /slow/, times: 1, afterRoute: true, delayMs: 200 });
    const res = await client({ timeoutMs: 50 }).request("/slow", { timeoutMs: 2_000 });
    expect(res.status).toBe(200);
    expect(fake.requests).toHaveLength(1);
  });

  it("sends a bearer token under another scheme when asked (Fly's FlyV1)", async () => {
    await client({ auth: { type: "bearer", token: "fm2_abc", scheme: "FlyV1" } }).request("/things");
    expect(fake.requests[0]?.headers.authorization).toBe("FlyV1 fm2_abc");
    expect(maskSecrets("header FlyV1 fm2_abc,fm2_def")).toBe("header FlyV1 [redacted]");
  });
});

describe("createOnce", () => {
  const unknown = (): ProviderError => new ProviderError("acme", 502, "POST /x: bad gateway");

  it("adopts what the lookup finds after an uncertain failure, else creates again, and gives up after the attempts", async () => {
    let creates = 0;
    const adopted = await createOnce("thing", { create: async () => { creates++; throw unknown(); }, find: async () => "found" }, { delayMs: 1 });
    expect(adopted).toBe("found");
    expect(creates).toBe(1);

    creates = 0;
    const second = await createOnce("thing", { create: async () => (++creates === 1 ? Promise.reject(unknown()) : "made"), find: async () => undefined }, { delayMs: 1 });
    expect(second).toBe("made");
    expect(creates).toBe(2);

    const failure = (await createOnce("thing", { create: async () => Promise.reject(unknown()), find: async () => undefined }, { attempts: 2, delayMs: 1 }).catch((e: unknown) => e)) as ProviderError;
    expect(failure.message).toBe("acme: HTTP 502: POST /x: bad gateway (thing is not there after 2 attempts; nothing was created)");
    expect(failure.outcome).toBe("not-done");
  });

  it("throws certain failures at once and says so when the lookup fails too", async () => {
    let finds = 0;
    const certain = new ProviderError("acme", 422, "POST /x: taken");
    await expect(createOnce("thing", { create: async () => Promise.reject(certain), find: async () => (finds++, undefined) })).rejects.toBe(certain);
    expect(finds).toBe(0);
    const both = (await createOnce("thing", { create: async () => Promise.reject(unknown()), find: async () => Promise.reject(new Error("lookup down")) }).catch((e: unknown) => e)) as ProviderError;
    expect(both.message).toContain("thing may have been created, and looking it up by name failed too (lookup down)");
    expect(mayHaveHappened(both)).toBe(true);
  });
});
