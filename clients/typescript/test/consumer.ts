// Type-checked (never run) by tests/e2e/test_client_typescript_e2e.py: how an app uses the published types.
import { FallbackFailedError, TokenyardClient, type ChunkStream, type Status } from "@tokenyard/client";
import type { ChatCompletion } from "openai/resources/chat/completions";

export async function app(client: TokenyardClient): Promise<string> {
  const answer: ChatCompletion = await client.chat.completions.create({
    model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
  const stream: ChunkStream = await client.chat.completions.create({
    model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }], stream: true });
  let text = answer.choices[0].message.content ?? "";
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? "";
  const status: Status = await client.getStatus();
  const mode: "gateway" | "fallback" = status.mode;
  const vectors = await client.embeddings.create({ model: "nomic-embed-text", input: "x" });
  try {
    await client.chat.completions.create({ model: "m", messages: [] });
  } catch (err) {
    if (err instanceof FallbackFailedError) text += String(err.gatewayError);
  }
  return `${text} ${mode} ${vectors.data.length} ${client.fallbackUsage().totalTokens}`;
}
