/**
 * Streams that keep the gateway's mid-stream contract in the client. Before the first token a broken
 * stream is a failed call (retried, then sent to the fallback), so the client reads ahead until a chunk
 * carries a token. After it, the stream is the caller's: a break reaches the caller as the SDK's error
 * and is never continued on another route, which would splice two models' answers into one.
 */
import type { ChatCompletionChunk } from "openai/resources/chat/completions";

export type Served = "gateway" | "fallback";

/** True once the caller would see output: text, a refusal, a tool call, or the final usage. */
export function carriesToken(chunk: ChatCompletionChunk): boolean {
  if (chunk.usage) return true;
  return chunk.choices.some((c) => {
    const d = c.delta;
    return Boolean(d && (d.content || d.refusal || (d.tool_calls && d.tool_calls.length) || d.function_call));
  });
}

export interface Head {
  chunks: ChatCompletionChunk[];
  done: boolean;
}

export async function readToFirstToken(it: AsyncIterator<ChatCompletionChunk>, abort: () => void): Promise<Head> {
  const chunks: ChatCompletionChunk[] = [];
  try {
    while (chunks.length === 0 || !carriesToken(chunks[chunks.length - 1])) {
      const next = await it.next();
      if (next.done) return { chunks, done: true };
      chunks.push(next.value);
    }
  } catch (err) {
    abort();
    throw err;
  }
  return { chunks, done: false };
}

/**
 * What `create({stream: true})` resolves to: iterate it with `for await`, stop it with `abort()`.
 * `route` says who is answering. `onEnd` gets the last usage seen, once; `hideUsageChunk`: the client
 * asked the fallback for usage on the caller's behalf (for its ledger), so that chunk is not passed on.
 */
export class ChunkStream implements AsyncIterableIterator<ChatCompletionChunk> {
  #usage: ChatCompletionChunk["usage"] = undefined;
  #ended = false;

  constructor(
    private readonly iterator: AsyncIterator<ChatCompletionChunk>,
    private readonly head: Head,
    readonly route: Served,
    private readonly abortFn: () => void,
    private readonly onEnd?: (usage: ChatCompletionChunk["usage"]) => void,
    private readonly hideUsageChunk = false,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ChatCompletionChunk>> {
    for (;;) {
      let chunk: ChatCompletionChunk;
      if (this.head.chunks.length) {
        chunk = this.head.chunks.shift()!;
      } else if (this.head.done) {
        this.#end();
        return { done: true, value: undefined };
      } else {
        let next: IteratorResult<ChatCompletionChunk>;
        try {
          next = await this.iterator.next();
        } catch (err) {
          this.#end();
          throw err;
        }
        if (next.done) {
          this.#end();
          return { done: true, value: undefined };
        }
        chunk = next.value;
      }
      if (chunk.usage) this.#usage = chunk.usage;
      if (this.hideUsageChunk && chunk.choices.length === 0) continue;
      return { done: false, value: chunk };
    }
  }

  async return(): Promise<IteratorResult<ChatCompletionChunk>> {
    this.abort();
    return { done: true, value: undefined };
  }

  abort(): void {
    this.abortFn();
    this.#end();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.onEnd?.(this.#usage);
  }
}
