import assert from "node:assert/strict";
import http from "node:http";
import { test } from "node:test";
import { createApp } from "../src/app.js";

test("GET /health answers 200", async () => {
  const server = http.createServer(createApp({ name: "test" }));
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const { port } = server.address();
    const response = await fetch(`http://127.0.0.1:${port}/health`);
    assert.equal(response.status, 200);
    assert.equal((await response.json()).status, "ok");
  } finally {
    server.close();
  }
});
