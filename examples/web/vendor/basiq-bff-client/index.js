// A typed client for basiq-bff: openapi-fetch over the types that openapi-typescript generates
// from basiq-bff's own OpenAPI document (./schema.ts, from ../openapi.json), with the app user's
// JWT on every request and problem+json errors turned into one error type.
//
// Every path, parameter, body and answer is checked by the compiler against the document:
//
//   const bff = createBasiqBffClient({ baseUrl, getToken: () => auth.currentJwt() });
//   const page = await unwrap(bff.GET("/v1/transactions", { params: { query: { limit: 50 } } }));
//   page.data[0]?.enrich?.merchant?.businessName; // string | null | undefined
import createClient from "openapi-fetch";
/**
 * A client for basiq-bff that sends `Authorization: Bearer <getToken()>` on every request, and
 * asks again for an answer it holds with `If-None-Match` (see `keptAnswers`).
 */
export function createBasiqBffClient({ getToken, keptAnswers: keep = 50, ...options }) {
    const client = createClient(options);
    client.use(bearerToken(getToken));
    if (keep > 0)
        client.use(keptAnswers(keep));
    return client;
}
/**
 * The openapi-fetch middleware that keeps the last answer of each `GET` that came with an
 * `ETag` (basiq-bff's accounts and transactions), and asks for it again with `If-None-Match`:
 * while the answer is unchanged, basiq-bff says `304 Not Modified` without a body (and calls
 * no bank), and the kept answer is handed on as the `200` it stands for. A browser's HTTP
 * cache may do this by itself; React Native's `fetch` does not. At most `max` answers are kept
 * (least recently used go first), per user: the `Authorization` header is part of the key.
 */
export function keptAnswers(max = 50) {
    const kept = new Map();
    const keyOf = (request) => `${request.headers.get("Authorization") ?? ""} ${request.url}`;
    return {
        async onRequest({ request }) {
            const held = request.method === "GET" ? kept.get(keyOf(request)) : undefined;
            if (held && !request.headers.has("If-None-Match"))
                request.headers.set("If-None-Match", held.etag);
            return request;
        },
        async onResponse({ request, response }) {
            if (request.method !== "GET")
                return response;
            const key = keyOf(request);
            const held = kept.get(key);
            if (response.status === 304 && held) {
                kept.delete(key);
                kept.set(key, held); // the most recently used last
                const headers = new Headers(held.headers);
                for (const name of ["ETag", "Data-Read-At"]) {
                    const value = response.headers.get(name);
                    if (value)
                        headers.set(name, value);
                }
                return new Response(held.body.slice(0), { status: 200, statusText: "OK", headers });
            }
            const etag = response.headers.get("ETag");
            if (response.ok && etag) {
                const body = await response.clone().arrayBuffer();
                kept.delete(key);
                kept.set(key, { etag, body, headers: [...response.headers] });
                for (const oldest of kept.keys()) {
                    if (kept.size <= max)
                        break;
                    kept.delete(oldest);
                }
            }
            return response;
        },
    };
}
/** The openapi-fetch middleware that puts the app user's JWT on each request. */
export function bearerToken(getToken) {
    return {
        async onRequest({ request }) {
            const token = await getToken();
            if (token)
                request.headers.set("Authorization", `Bearer ${token}`);
            return request;
        },
    };
}
/**
 * basiq-bff answered with an error. `problem` is its problem document: `code` is the stable
 * machine code to branch on (`not_found`, `rate_limited`, `upstream_unavailable`, …), `title` and
 * `detail` are for developers, `requestId` is what to quote when reporting it.
 */
export class ProblemError extends Error {
    name = "ProblemError";
    problem;
    /** The HTTP answer it came in, when there was one. */
    response;
    constructor(problem, response) {
        super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
        this.problem = problem;
        this.response = response;
    }
    get status() {
        return this.problem.status;
    }
    get code() {
        return this.problem.code;
    }
    /** On a 429 (and some 503s): the seconds to wait before trying again, from `Retry-After`. */
    get retryAfterSeconds() {
        const value = this.response?.headers.get("Retry-After");
        const seconds = value ? Number(value) : Number.NaN;
        return Number.isFinite(seconds) ? seconds : undefined;
    }
}
/**
 * The problem document of an error answer, as openapi-fetch hands it over in `error`. An answer
 * that is not one (say, a proxy's HTML 502) becomes a problem with code `unexpected_response`.
 */
export function toProblem(error, response) {
    const requestId = response.headers.get("x-request-id");
    if (isProblem(error))
        return { ...error, requestId: error.requestId ?? requestId };
    return {
        type: "about:blank",
        title: `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`,
        status: response.status,
        detail: "The answer was not a problem document: it may come from a proxy in front of basiq-bff.",
        code: "unexpected_response",
        requestId,
    };
}
function isProblem(value) {
    if (typeof value !== "object" || value === null)
        return false;
    const { title, status, code } = value;
    return typeof title === "string" && typeof status === "number" && typeof code === "string";
}
/**
 * The data of a successful answer, or a thrown {@link ProblemError}:
 * `const me = await unwrap(bff.GET("/v1/me"));`. A request that got no answer at all (offline,
 * DNS, CORS) rejects with fetch's own `TypeError`, as fetch does.
 */
export async function unwrap(request) {
    const { data, error, response } = await request;
    if (!response.ok)
        throw new ProblemError(toProblem(error, response), response);
    return data;
}
/**
 * The caller's transactions as a `Map` by id, kept in step with `GET /v1/transactions/sync`.
 * `sync()` reads the changes since the last cursor, a page at a time until `hasMore` is false:
 * `removed` (unknown ids are ignored), then `added` and `modified` (added or replaced by id).
 * When the BFF answers `cursor_expired`, the copy is dropped and read again without a cursor.
 * A call made while one runs waits for it, then runs once more (once for any number of such
 * calls). Call it on start and on each `data.updated` event:
 *
 *   const sync = new TransactionSync(bff);
 *   await sync.sync();
 *   subscribe(bff, { onEvent: (e) => { if (e.type === "data.updated") void sync.sync(); } });
 *   render([...sync.transactions.values()]);
 */
export class TransactionSync {
    /** The local copy, by transaction id. */
    transactions = new Map();
    /** The `nextCursor` of the last page applied: save it with the transactions to resume later. */
    cursor;
    #client;
    #limit;
    #running = Promise.resolve();
    #queued;
    constructor(client, options = {}) {
        this.#client = client;
        this.#limit = options.limit;
        this.cursor = options.cursor;
        for (const t of options.transactions ?? [])
            this.transactions.set(t.id, t);
    }
    /** Brings the copy up to date; answers what changed. Rejects with a {@link ProblemError}. */
    sync() {
        if (this.#queued)
            return this.#queued; // one run waiting already: it will see these changes too
        const run = this.#running.catch(() => { }).then(() => {
            this.#queued = undefined;
            return this.#sync();
        });
        this.#queued = run;
        this.#running = run;
        return run;
    }
    async #sync() {
        // Each id touched, and whether the copy had it before this sync.
        const before = new Map();
        const touch = (id) => {
            if (!before.has(id))
                before.set(id, this.transactions.has(id));
        };
        let reset = false;
        for (let resets = 0;;) {
            let page;
            try {
                const query = { ...(this.cursor ? { cursor: this.cursor } : {}), ...(this.#limit ? { limit: this.#limit } : {}) };
                page = await unwrap(this.#client.GET("/v1/transactions/sync", { params: { query } }));
            }
            catch (e) {
                if (!(e instanceof ProblemError && e.code === "cursor_expired" && this.cursor && resets++ < 3))
                    throw e;
                for (const id of this.transactions.keys())
                    touch(id);
                this.transactions.clear();
                this.cursor = undefined;
                reset = true;
                continue;
            }
            for (const id of page.removed) {
                touch(id);
                this.transactions.delete(id);
            }
            for (const t of [...page.added, ...page.modified]) {
                touch(t.id);
                this.transactions.set(t.id, t);
            }
            this.cursor = page.nextCursor;
            if (!page.hasMore)
                break;
        }
        const changes = { added: [], modified: [], removed: [], reset };
        for (const [id, had] of before) {
            const now = this.transactions.get(id);
            if (now)
                (had ? changes.modified : changes.added).push(now);
            else if (had)
                changes.removed.push(id);
        }
        return changes;
    }
}
/** The event types this client knows; a newer one is skipped. */
export const EVENT_TYPES = [
    "job.updated",
    "connection.updated",
    "data.updated",
    "consent.updated",
    "user.erased",
];
/**
 * The caller's events, for a browser (or anything with `EventSource`): gets a single-use ticket
 * with the client's JWT (`POST /v1/events/ticket`), opens `GET /v1/events?ticket=…`, and hands
 * each event to `onEvent` with its `data` parsed and typed by its event name. When the stream
 * fails or ends (it does after an hour, or when a server restarts), it gets a new ticket and
 * reopens with `lastEventId=` the last event seen, so nothing is missed.
 *
 *   const sub = subscribe(bff, { onEvent: (e) => { if (e.type === "job.updated") show(e.data); } });
 *   sub.close();
 */
export function subscribe(client, options) {
    const { onEvent, onError, onOpen } = options;
    const Source = options.EventSource ?? globalThis.EventSource;
    if (!Source)
        throw new TypeError("no EventSource here: pass one, or use streamEvents");
    const firstDelay = options.reconnectDelayMs ?? 2000;
    let lastEventId = options.lastEventId;
    let source;
    let timer;
    let delay = firstDelay;
    let closed = false;
    const retry = (error) => {
        source?.close();
        source = undefined;
        if (closed)
            return;
        onError?.(error);
        if (closed)
            return; // onError may close it
        timer = setTimeout(open, delay);
        delay = Math.min(delay * 2, 30_000);
    };
    async function open() {
        timer = undefined;
        if (closed)
            return;
        let url;
        try {
            const { data, error, response } = await client.POST("/v1/events/ticket");
            if (!response.ok || !data)
                throw new ProblemError(toProblem(error, response), response);
            url = eventsUrl(options.baseUrl, response.url);
            url.searchParams.set("ticket", data.ticket);
            if (lastEventId !== undefined)
                url.searchParams.set("lastEventId", lastEventId);
        }
        catch (e) {
            return retry(e);
        }
        if (closed)
            return;
        let es;
        try {
            es = new Source(url.toString());
        }
        catch (e) {
            return retry(e);
        }
        source = es;
        es.onopen = () => {
            delay = firstDelay;
            onOpen?.();
        };
        // The browser would reconnect by itself, but with the used ticket: reconnect here instead.
        es.onerror = () => {
            if (source === es)
                retry(new Error("the event stream failed or ended; reconnecting"));
        };
        for (const type of EVENT_TYPES) {
            es.addEventListener(type, (message) => {
                if (source !== es)
                    return;
                const { data, lastEventId: id } = message;
                let payload;
                try {
                    payload = JSON.parse(data);
                }
                catch {
                    onError?.(new Error(`a ${type} event whose data is not JSON`));
                    return;
                }
                if (id)
                    lastEventId = id;
                onEvent({ type, id, data: payload });
            });
        }
    }
    void open();
    return {
        close() {
            closed = true;
            clearTimeout(timer);
            source?.close();
            source = undefined;
        },
        get lastEventId() {
            return lastEventId;
        },
    };
}
/** `/v1/events` beside `/v1/events/ticket` (keeping any path prefix), or under `baseUrl`. */
function eventsUrl(baseUrl, ticketUrl) {
    if (baseUrl)
        return new URL(`${baseUrl.replace(/\/+$/, "")}/v1/events`);
    const url = new URL(ticketUrl);
    url.pathname = url.pathname.replace(/\/ticket$/, "");
    url.search = "";
    return url;
}
/**
 * The caller's events without `EventSource` (Node.js, a server, tests): `GET /v1/events` with
 * `Authorization: Bearer` and `Last-Event-ID`, read with `fetch`, reconnecting like
 * {@link subscribe}. It resolves when `signal` aborts.
 */
export async function streamEvents(options) {
    const { onEvent, onError, onOpen, signal } = options;
    const doFetch = options.fetch ?? globalThis.fetch;
    const url = `${options.baseUrl.replace(/\/+$/, "")}/v1/events`;
    const firstDelay = options.reconnectDelayMs ?? 2000;
    let delay = firstDelay;
    let lastEventId = options.lastEventId;
    while (!signal?.aborted) {
        try {
            const headers = new Headers({ Accept: "text/event-stream" });
            const token = await options.getToken();
            if (token)
                headers.set("Authorization", `Bearer ${token}`);
            if (lastEventId !== undefined)
                headers.set("Last-Event-ID", lastEventId);
            const response = await doFetch(url, { headers, signal: signal ?? null });
            if (!response.ok || !response.body) {
                const body = await response.json().catch(() => undefined);
                throw new ProblemError(toProblem(body, response), response);
            }
            delay = firstDelay;
            onOpen?.();
            // Server-Sent Events: fields up to a blank line make one event.
            const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
            let buffer = "";
            let event = { type: "message", id: "", data: [] };
            for (;;) {
                const { value, done } = await reader.read();
                if (done)
                    break;
                buffer += value;
                const lines = buffer.split(/\r\n|\r|\n/);
                buffer = lines.pop() ?? "";
                for (const line of lines) {
                    if (line === "") {
                        if (event.data.length && EVENT_TYPES.includes(event.type)) {
                            if (event.id)
                                lastEventId = event.id;
                            const data = JSON.parse(event.data.join("\n"));
                            onEvent({ type: event.type, id: event.id, data });
                        }
                        event = { type: "message", id: "", data: [] };
                        continue;
                    }
                    const colon = line.indexOf(":");
                    if (colon === 0)
                        continue; // a comment (keep-alive)
                    const field = colon < 0 ? line : line.slice(0, colon);
                    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
                    if (field === "event")
                        event.type = value;
                    else if (field === "data")
                        event.data.push(value);
                    else if (field === "id")
                        event.id = value;
                }
            }
            throw new Error("the event stream ended; reconnecting");
        }
        catch (e) {
            if (signal?.aborted)
                return;
            onError?.(e);
        }
        await new Promise((resolve) => {
            const timer = setTimeout(resolve, delay);
            signal?.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
        });
        delay = Math.min(delay * 2, 30_000);
    }
}
