/** Request handler of the service: `GET /health` and `GET /`. */
export function createApp({ name, startedAt = Date.now() }) {
  return (req, res) => {
    const { pathname } = new URL(req.url ?? "/", "http://localhost");
    if (req.method === "GET" && pathname === "/health") {
      send(res, 200, { status: "ok", uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) });
    } else if (req.method === "GET" && pathname === "/") {
      send(res, 200, { service: name, message: "hello" });
    } else {
      send(res, 404, { error: `no route for ${req.method} ${pathname}` });
    }
  };
}

function send(res, status, body) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
