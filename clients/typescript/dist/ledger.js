/** Local record of the calls the fallback served, so an app can report (or bill) them later. */
export class FallbackLedger {
    #byModel = new Map();
    /** `usage`: the answer's usage (undefined when the server reported none: counted, with 0 tokens). */
    record(model, usage) {
        const row = this.#byModel.get(model) ?? { calls: 0, promptTokens: 0, completionTokens: 0 };
        row.calls += 1;
        row.promptTokens += usage?.prompt_tokens ?? 0;
        row.completionTokens += usage?.completion_tokens ?? 0;
        this.#byModel.set(model, row);
    }
    snapshot() {
        const byModel = {};
        let calls = 0, promptTokens = 0, completionTokens = 0;
        for (const [model, row] of this.#byModel) {
            byModel[model] = { ...row };
            calls += row.calls;
            promptTokens += row.promptTokens;
            completionTokens += row.completionTokens;
        }
        return { calls, promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, byModel };
    }
}
