import assert from "node:assert/strict";
import { test } from "node:test";
import { extractPage } from "../src/extract.js";

test("extracts the title and absolute links", () => {
  const html = `<html><head><title> Example &amp; Co </title></head>
    <body><a href="/about">About</a> <a class="x" href='https://other.example/page#top'>Other</a></body></html>`;
  const page = extractPage(html, "https://example.com/start");
  assert.equal(page.title, "Example & Co");
  assert.deepEqual(page.links, ["https://example.com/about", "https://other.example/page"]);
});

test("skips non-http links and duplicates", () => {
  const html = `<a href="mailto:a@b.c">mail</a><a href="javascript:void(0)">js</a><a href=/a>a</a><a href="/a#x">again</a>`;
  const page = extractPage(html, "http://localhost:8080/");
  assert.equal(page.title, null);
  assert.deepEqual(page.links, ["http://localhost:8080/a"]);
});
