/** True once the caller would see output: text, a refusal, a tool call, or the final usage. */
export function carriesToken(chunk) {
    if (chunk.usage)
        return true;
    return chunk.choices.some((c) => {
        const d = c.delta;
        return Boolean(d && (d.content || d.refusal || (d.tool_calls && d.tool_calls.length) || d.function_call));
    });
}
export async function readToFirstToken(it, abort) {
    const chunks = [];
    try {
        while (chunks.length === 0 || !carriesToken(chunks[chunks.length - 1])) {
            const next = await it.next();
            if (next.done)
                return { chunks, done: true };
            chunks.push(next.value);
        }
    }
    catch (err) {
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
export class ChunkStream {
    iterator;
    head;
    route;
    abortFn;
    onEnd;
    hideUsageChunk;
    #usage = undefined;
    #ended = false;
    constructor(iterator, head, route, abortFn, onEnd, hideUsageChunk = false) {
        this.iterator = iterator;
        this.head = head;
        this.route = route;
        this.abortFn = abortFn;
        this.onEnd = onEnd;
        this.hideUsageChunk = hideUsageChunk;
    }
    [Symbol.asyncIterator]() {
        return this;
    }
    async next() {
        for (;;) {
            let chunk;
            if (this.head.chunks.length) {
                chunk = this.head.chunks.shift();
            }
            else if (this.head.done) {
                this.#end();
                return { done: true, value: undefined };
            }
            else {
                let next;
                try {
                    next = await this.iterator.next();
                }
                catch (err) {
                    this.#end();
                    throw err;
                }
                if (next.done) {
                    this.#end();
                    return { done: true, value: undefined };
                }
                chunk = next.value;
            }
            if (chunk.usage)
                this.#usage = chunk.usage;
            if (this.hideUsageChunk && chunk.choices.length === 0)
                continue;
            return { done: false, value: chunk };
        }
    }
    async return() {
        this.abort();
        return { done: true, value: undefined };
    }
    abort() {
        this.abortFn();
        this.#end();
    }
    #end() {
        if (this.#ended)
            return;
        this.#ended = true;
        this.onEnd?.(this.#usage);
    }
}
