// The routing rules without any I/O: cooldown, one probe per cooldown, backoff, names, settings.
import assert from "node:assert/strict";
import { test } from "node:test";

import { backoffDelays, healthURL, localModel, resolveConfig } from "../dist/config.js";
import { Failover } from "../dist/index.js";
import { carriesToken } from "../dist/streams.js";
import { FakeClock } from "./support.mjs";

test("fallback lasts the cooldown, then one caller probes while the rest stay on the fallback", () => {
  const clock = new FakeClock();
  const f = new Failover(30_000, clock.now);
  assert.deepEqual([f.route(), f.mode], ["gateway", "gateway"]);
  f.gatewayDown();
  clock.advance(29_999);
  assert.deepEqual([f.route(), f.mode], ["fallback", "fallback"]);
  clock.advance(1);
  assert.equal(f.route(), "probe");
  assert.equal(f.route(), "fallback");
  f.gatewayUp();
  assert.equal(f.route(), "gateway");
});

test("backoff doubles up to its cap, /healthz sits beside /v1, models map exactly, then by default", () => {
  const cfg = resolveConfig({ baseURL: "http://gw:8080/v1/", apiKey: "k", attempts: 6, backoffMs: 1000,
    fallbackModelMap: { "gpt-4o": "llama3.2", "*": "qwen2.5" } });
  assert.deepEqual(backoffDelays(cfg), [1000, 2000, 4000, 4000, 4000]);
  assert.deepEqual(backoffDelays(resolveConfig({ baseURL: "u", apiKey: "k" })), [250, 500]);
  assert.equal(healthURL(cfg), "http://gw:8080/healthz");
  assert.deepEqual([localModel(cfg, "gpt-4o"), localModel(cfg, "other")], ["llama3.2", "qwen2.5"]);
  assert.equal(resolveConfig({ baseURL: "u", apiKey: "k" }).fallbackBaseURL, "http://127.0.0.1:11434/v1");
});

test("nonsense settings are refused when the client is built", () => {
  for (const bad of [{ attempts: 0 }, { cooldownMs: -1 }, { baseURL: "" }]) {
    assert.throws(() => resolveConfig({ baseURL: "u", apiKey: "k", ...bad }), TypeError);
  }
});

test("a role-only chunk is not a token; text and tool calls are", () => {
  const chunk = (delta) => ({ id: "c", object: "chat.completion.chunk", created: 0, model: "m",
    choices: [{ index: 0, delta, finish_reason: null }] });
  assert.equal(carriesToken(chunk({ role: "assistant", content: "" })), false);
  assert.equal(carriesToken(chunk({ content: "hi" })), true);
  assert.equal(carriesToken(chunk({ tool_calls: [{ index: 0, id: "t", type: "function",
    function: { name: "f", arguments: "" } }] })), true);
});
