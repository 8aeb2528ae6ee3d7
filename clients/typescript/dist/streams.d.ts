/**
 * Streams that keep the gateway's mid-stream contract in the client. Before the first token a broken
 * stream is a failed call (retried, then sent to the fallback), so the client reads ahead until a chunk
 * carries a token. After it, the stream is the caller's: a break reaches the caller as the SDK's error
 * and is never continued on another route, which would splice two models' answers into one.
 */
import type { ChatCompletionChunk } from "openai/resources/chat/completions";
export type Served = "gateway" | "fallback";
/** True once the caller would see output: text, a refusal, a tool call, or the final usage. */
export declare function carriesToken(chunk: ChatCompletionChunk): boolean;
export interface Head {
    chunks: ChatCompletionChunk[];
    done: boolean;
}
export declare function readToFirstToken(it: AsyncIterator<ChatCompletionChunk>, abort: () => void): Promise<Head>;
/**
 * What `create({stream: true})` resolves to: iterate it with `for await`, stop it with `abort()`.
 * `route` says who is answering. `onEnd` gets the last usage seen, once; `hideUsageChunk`: the client
 * asked the fallback for usage on the caller's behalf (for its ledger), so that chunk is not passed on.
 */
export declare class ChunkStream implements AsyncIterableIterator<ChatCompletionChunk> {
    #private;
    private readonly iterator;
    private readonly head;
    readonly route: Served;
    private readonly abortFn;
    private readonly onEnd?;
    private readonly hideUsageChunk;
    constructor(iterator: AsyncIterator<ChatCompletionChunk>, head: Head, route: Served, abortFn: () => void, onEnd?: ((usage: ChatCompletionChunk["usage"]) => void) | undefined, hideUsageChunk?: boolean);
    [Symbol.asyncIterator](): this;
    next(): Promise<IteratorResult<ChatCompletionChunk>>;
    return(): Promise<IteratorResult<ChatCompletionChunk>>;
    abort(): void;
}
