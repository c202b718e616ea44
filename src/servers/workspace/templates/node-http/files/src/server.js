import http from "node:http";
import { createApp } from "./app.js";

const port = Number(process.env.PORT ?? "3000");
const server = http.createServer(createApp({ name: process.env.SERVICE_NAME ?? "service" }));

server.listen(port, () => console.info(`listening on port ${port}`));
process.once("SIGTERM", () => server.close(() => process.exit(0)));
process.once("SIGINT", () => server.close(() => process.exit(0)));
