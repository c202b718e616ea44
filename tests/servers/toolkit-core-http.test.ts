import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createHttpClient, isProviderError, parseRetryAfter, ProviderError, scrubSecrets } from "../../src/servers/toolkit/http.ts";
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
    expect(scrubSecrets('{"password":"abc","name":"n"}')).toBe('{"password":"[redacted]","name":"n"}');
  });
});
