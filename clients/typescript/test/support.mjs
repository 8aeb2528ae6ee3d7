// What the tests share: a fake local fallback (Ollama's OpenAI-compatible /v1), a gateway (edge) process
// of their own on the real mesh that they can kill and restart, and a clock and sleep the test controls.
// The mesh comes from the environment pytest gives this process (tests/e2e/test_client_typescript_e2e.py).
import { spawn } from "node:child_process";
import { once } from "node:events";
import http from "node:http";
import net from "node:net";

export function meshEnv() {
  for (const name of ["TY_TEST_MASTER_KEY", "TY_TEST_PYTHON", "TY_TEST_ROOT", "TOKENYARD_ROUTER_ADDR"]) {
    if (!process.env[name]) {
      throw new Error(`${name} is not set: run these tests through pytest (tests/e2e/test_client_typescript_e2e.py), ` +
        "which starts the mesh");
    }
  }
  return { masterKey: process.env.TY_TEST_MASTER_KEY, python: process.env.TY_TEST_PYTHON, root: process.env.TY_TEST_ROOT };
}

export async function freePort() {
  const server = net.createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address();
  server.close();
  await once(server, "close");
  return port;
}

export class Gateway {
  /** `env` overrides the mesh's, e.g. a router address nobody listens on: a gateway that is up but 5xx. */
  constructor(port, env = {}) {
    this.port = port;
    this.env = env;
    this.proc = null;
  }

  get baseURL() {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  static async start(env = {}) {
    return new Gateway(await freePort(), env).start();
  }

  async start() {
    const { python, root } = meshEnv();
    this.proc = spawn(python, ["-m", "services.edge"], {
      cwd: root, env: { ...process.env, TOKENYARD_HTTP_PORT: String(this.port), ...this.env }, stdio: "ignore",
    });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      if (this.proc.exitCode !== null) throw new Error(`edge exited with ${this.proc.exitCode} while starting`);
      try {
        const resp = await fetch(`http://127.0.0.1:${this.port}/healthz`);
        if (resp.ok) return this;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("edge did not come up within 20 s");
  }

  /** Dies at once, as a crashed or OOM-killed gateway does: no drain, no goodbye. */
  async kill() {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = once(this.proc, "exit");
      this.proc.kill("SIGKILL");
      await exited;
    }
  }
}

/** Answers `local <model>: <last user message>`, streaming or not, and records what it was asked. */
export async function startFallback() {
  const requests = [];
  const server = http.createServer((req, res) => answer(req, res).catch((err) => {
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: { message: String(err), type: "server_error" } }));
  }));
  async function answer(req, res) {
    let raw = "";
    for await (const chunk of req) raw += chunk;
    const body = raw ? JSON.parse(raw) : {};
    if (req.method === "GET" && req.url === "/v1/models") {
      return json(res, { object: "list", data: [{ id: "llama3.2", object: "model", created: 0, owned_by: "library" }] });
    }
    if (req.url === "/v1/embeddings") {
      requests.push({ path: "embeddings", ...body });
      return json(res, { object: "list", model: body.model, data: [{ object: "embedding", index: 0, embedding: [0.5, 0.25] }],
        usage: { prompt_tokens: 3, total_tokens: 3 } });
    }
    requests.push({ path: "chat", ...body });
    const words = `local ${body.model}: ${body.messages.at(-1).content}`.split(" ");
    const usage = { prompt_tokens: 11, completion_tokens: words.length, total_tokens: 11 + words.length };
    const head = { id: "chatcmpl-local", created: 0, model: body.model };
    if (!body.stream) {
      return json(res, { ...head, object: "chat.completion", usage, choices: [
        { index: 0, finish_reason: "stop", message: { role: "assistant", content: words.join(" ") } }] });
    }
    res.writeHead(200, { "content-type": "text/event-stream" });
    const send = (obj) => res.write(`data: ${JSON.stringify({ ...head, object: "chat.completion.chunk", ...obj })}\n\n`);
    words.forEach((w, i) => send({ choices: [{ index: 0, delta: i ? { content: " " + w } : { role: "assistant", content: w },
      finish_reason: null }] }));
    send({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }] });
    if (body.stream_options?.include_usage) send({ choices: [], usage });
    res.end("data: [DONE]\n\n");
  }
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    requests,
    baseURL: `http://127.0.0.1:${server.address().port}/v1`,
    close: () => new Promise((r) => server.close(r)),
  };
}

function json(res, obj) {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(obj));
}

export class FakeClock {
  constructor() {
    this.t = 1_000_000;
    this.now = () => this.t;
  }

  advance(ms) {
    this.t += ms;
  }
}

/** The backoff the client asked for, without waiting for it. */
export function recordingSleep() {
  const calls = [];
  const sleep = async (ms) => {
    calls.push(ms);
  };
  return { calls, sleep };
}

export const user = (content) => [{ role: "user", content }];

export async function text(stream) {
  let out = "";
  for await (const chunk of stream) out += chunk.choices[0]?.delta?.content ?? "";
  return out;
}
