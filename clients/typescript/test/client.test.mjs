// @tokenyard/client against the real mesh (a gateway process these tests kill and restart) and a fake
// local fallback. Time is the test's: the cooldown passes on an injected clock, backoff sleeps are recorded.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, test } from "node:test";

import OpenAI from "openai";

import { FallbackFailedError, TokenyardClient } from "../dist/index.js";
import { FakeClock, Gateway, freePort, meshEnv, recordingSleep, startFallback, text, user } from "./support.mjs";

const MAP = { "fake-echo": "llama3.2", "fake-embed": "nomic-embed-text" };
let fallback, gateway, clock, sleeps, client;

before(async () => {
  fallback = await startFallback();
});
after(async () => {
  await fallback.close();
});

beforeEach(async () => {
  fallback.requests.length = 0;
  gateway = await Gateway.start();
  clock = new FakeClock();
  sleeps = recordingSleep();
  client = new TokenyardClient({ baseURL: gateway.baseURL, apiKey: meshEnv().masterKey, fallbackBaseURL: fallback.baseURL,
    fallbackModelMap: MAP, now: clock.now, sleep: sleeps.sleep, timeoutMs: 20_000 });
});
afterEach(async () => {
  await gateway.kill();
});

test("gateway up: answers come from the gateway and the status says gateway", async () => {
  const answer = await client.chat.completions.create({ model: "fake-echo", messages: user("hello from node") });
  assert.equal(answer.choices[0].message.content, "hello from node");
  const stream = await client.chat.completions.create({ model: "fake-echo", messages: user("streamed words"), stream: true });
  assert.equal(stream.route, "gateway");
  assert.equal(await text(stream), "streamed words");
  const emb = await client.embeddings.create({ model: "fake-embed", input: ["a", "b"] });
  assert.equal(emb.data.length, 2);
  const status = await client.getStatus();
  assert.deepEqual([status.gateway, status.fallback, status.mode], [true, "up", "gateway"]);
  assert.deepEqual([fallback.requests, sleeps.calls, status.fallbackUsage.calls], [[], [], 0]);
});

test("gateway killed mid-session: the next call answers from the fallback within the retry budget", async () => {
  await client.chat.completions.create({ model: "fake-echo", messages: user("before") });
  await gateway.kill();
  const answer = await client.chat.completions.create({ model: "fake-echo", messages: user("after the crash") });
  assert.equal(answer.choices[0].message.content, "local llama3.2: after the crash");
  assert.deepEqual(sleeps.calls, [250, 500]); // three tries, exponential backoff, then the fallback
  assert.deepEqual(fallback.requests.map((r) => r.model), ["llama3.2"]);
  const status = await client.getStatus();
  assert.deepEqual([status.gateway, status.fallback, status.mode], [false, "up", "fallback"]);
  assert.deepEqual(status.fallbackUsage.byModel, { "llama3.2": { calls: 1, promptTokens: 11, completionTokens: 5 } });
});

test("the client stays on the fallback for the cooldown, then returns to the gateway", async () => {
  await gateway.kill();
  await client.chat.completions.create({ model: "fake-echo", messages: user("one") });
  await gateway.start(); // back on the same port, but the cooldown is not over
  clock.advance(29_000);
  const during = await client.chat.completions.create({ model: "fake-echo", messages: user("two") });
  assert.equal(during.choices[0].message.content, "local llama3.2: two");
  assert.deepEqual(sleeps.calls, [250, 500]);
  clock.advance(2_000);
  const back = await client.chat.completions.create({ model: "fake-echo", messages: user("three") });
  assert.equal(back.choices[0].message.content, "three");
  assert.equal((await client.getStatus()).mode, "gateway");
  assert.equal(client.fallbackUsage().calls, 2);
});

test("a 5xx from the gateway is retried, then falls back", async () => {
  // A gateway that is up (its /healthz answers) but whose router is gone: every call is a 5xx.
  const broken = await Gateway.start({ TOKENYARD_ROUTER_ADDR: `127.0.0.1:${await freePort()}` });
  try {
    const c = new TokenyardClient({ baseURL: broken.baseURL, apiKey: meshEnv().masterKey,
      fallbackBaseURL: fallback.baseURL, fallbackModelMap: MAP, now: clock.now, sleep: sleeps.sleep });
    await assert.rejects(c.gateway.chat.completions.create({ model: "fake-echo", messages: user("direct") }),
      OpenAI.InternalServerError);
    const answer = await c.chat.completions.create({ model: "fake-echo", messages: user("flaky") });
    assert.equal(answer.choices[0].message.content, "local llama3.2: flaky");
    assert.deepEqual(sleeps.calls, [250, 500]);
  } finally {
    await broken.kill();
  }
});

test("a gateway 4xx (bad request, bad key) is no reason to retry or fall back", async () => {
  await assert.rejects(client.chat.completions.create({ model: "fake-echo", messages: [] }),
    (err) => err instanceof OpenAI.BadRequestError && err.status === 400);
  const badKey = new TokenyardClient({ baseURL: gateway.baseURL, apiKey: "ty-not-a-key-0123456789abcdef",
    fallbackBaseURL: fallback.baseURL, now: clock.now, sleep: sleeps.sleep });
  await assert.rejects(badKey.chat.completions.create({ model: "fake-echo", messages: user("hi"), stream: true }),
    (err) => err instanceof OpenAI.AuthenticationError && err.status === 401);
  await assert.rejects(badKey.embeddings.create({ model: "fake-embed", input: "x" }), OpenAI.AuthenticationError);
  assert.deepEqual([fallback.requests, sleeps.calls], [[], []]);
  assert.equal((await badKey.getStatus()).mode, "gateway");
});

test("a stream broken after its first token is not continued on the fallback", async () => {
  const stream = await client.chat.completions.create({ model: "fake-cut-after-3", messages: user("a b c d e f"),
    stream: true });
  const got = [];
  await assert.rejects(async () => {
    for await (const chunk of stream) got.push(chunk.choices[0]?.delta?.content ?? "");
  });
  assert.deepEqual(got.join("").split(/\s+/).filter(Boolean), ["a", "b", "c"]);
  assert.deepEqual([fallback.requests, sleeps.calls], [[], []]);
  assert.equal((await client.getStatus()).mode, "gateway");
});

test("a stream asked of a dead gateway streams from the fallback and is recorded", async () => {
  await gateway.kill();
  const stream = await client.chat.completions.create({ model: "fake-echo", messages: user("stream it"), stream: true });
  assert.equal(stream.route, "fallback");
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  assert.equal(chunks.map((c) => c.choices[0].delta.content).join(""), "local llama3.2: stream it");
  assert.ok(chunks.every((c) => c.choices.length === 1 && !c.usage)); // the ledger's usage chunk is not passed on
  assert.deepEqual(fallback.requests[0].stream_options, { include_usage: true });
  assert.deepEqual([client.fallbackUsage().calls, client.fallbackUsage().completionTokens], [1, 4]);
});

test("embeddings fall back with the mapped model", async () => {
  await gateway.kill();
  const emb = await client.embeddings.create({ model: "fake-embed", input: "x" });
  assert.equal(emb.model, "nomic-embed-text");
  assert.equal(client.fallbackUsage().byModel["nomic-embed-text"].promptTokens, 3);
});

test("gateway and fallback both down is one error naming both", async () => {
  const lonely = new TokenyardClient({ baseURL: gateway.baseURL, apiKey: meshEnv().masterKey,
    fallbackBaseURL: `http://127.0.0.1:${await freePort()}/v1`, now: clock.now, sleep: sleeps.sleep });
  await gateway.kill();
  await assert.rejects(lonely.chat.completions.create({ model: "fake-echo", messages: user("anyone?") }), (err) =>
    err instanceof FallbackFailedError && err.gatewayError instanceof OpenAI.APIConnectionError
      && err.fallbackError instanceof OpenAI.APIConnectionError);
  const status = await lonely.getStatus();
  assert.deepEqual([status.gateway, status.fallback, status.mode], [false, "down", "fallback"]);
});
