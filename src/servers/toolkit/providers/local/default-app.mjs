// The built-in app of local deploys: answers GET /health, and / with what it is.
import http from "node:http";

const port = Number(process.env.PORT ?? 3000);

const server = http.createServer((req, res) => {
  if (req.url === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok" }));
    return;
  }
  res.writeHead(200, { "content-type": "text/plain" });
  res.end("credit-optimizer default app: no source directory was found for this project.\n");
});

server.listen(port, "127.0.0.1", () => console.log(`default app listening on http://127.0.0.1:${port}`));
process.on("SIGTERM", () => process.exit(0));
