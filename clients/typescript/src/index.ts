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
import type { Client, ClientOptions, Middleware } from "openapi-fetch";
import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

type Schemas = components["schemas"];

// The answers' types under short names. Each is the generated type itself, not a copy.
export type Me = Schemas["Me"];
export type ConsentRequest = Schemas["ConsentRequest"];
export type ConsentResponse = Schemas["ConsentResponse"];
export type Consent = Schemas["ConsentView"];
export type ContactUpdate = Schemas["ContactUpdate"];
export type Job = Schemas["JobView"];
export type JobError = Schemas["JobError"];
export type Connection = Schemas["ConnectionView"];
export type ConnectionDetail = Schemas["ConnectionDetail"];
export type Account = Schemas["AccountView"];
export type AccountDetail = Schemas["AccountDetail"];
export type Transaction = Schemas["TransactionView"];
export type TransactionPage = Schemas["TransactionPage"];
export type Enrich = Schemas["Enrich"];
export type Merchant = Schemas["Merchant"];
export type Category = Schemas["Category"];
export type Institution = Schemas["InstitutionView"];
/** basiq-bff's error document (RFC 9457 `application/problem+json`). */
export type Problem = Schemas["Problem"];

/** openapi-fetch's client, typed by basiq-bff's paths: `GET`, `POST`, `DELETE`, …, and `use`. */
export type BasiqBffClient = Client<paths>;

/** Where the app user's JWT comes from; `null` or `undefined` sends no Authorization header. */
export type TokenSource = () => string | null | undefined | Promise<string | null | undefined>;

export interface BasiqBffClientOptions extends ClientOptions {
  /** basiq-bff's base URL as the app reaches it, e.g. `https://bff.example.com` (without `/v1`). */
  baseUrl: string;
  /**
   * The app user's JWT, from the app's identity provider. Called before every request, so a
   * refreshed token is used as soon as the app has it.
   */
  getToken: TokenSource;
}

/** A client for basiq-bff that sends `Authorization: Bearer <getToken()>` on every request. */
export function createBasiqBffClient({ getToken, ...options }: BasiqBffClientOptions): BasiqBffClient {
  const client = createClient<paths>(options);
  client.use(bearerToken(getToken));
  return client;
}

/** The openapi-fetch middleware that puts the app user's JWT on each request. */
export function bearerToken(getToken: TokenSource): Middleware {
  return {
    async onRequest({ request }) {
      const token = await getToken();
      if (token) request.headers.set("Authorization", `Bearer ${token}`);
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
  override readonly name = "ProblemError";
  readonly problem: Problem;
  /** The HTTP answer it came in, when there was one. */
  readonly response: Response | undefined;

  constructor(problem: Problem, response?: Response) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.problem = problem;
    this.response = response;
  }

  get status(): number {
    return this.problem.status;
  }

  get code(): string {
    return this.problem.code;
  }

  /** On a 429 (and some 503s): the seconds to wait before trying again, from `Retry-After`. */
  get retryAfterSeconds(): number | undefined {
    const value = this.response?.headers.get("Retry-After");
    const seconds = value ? Number(value) : Number.NaN;
    return Number.isFinite(seconds) ? seconds : undefined;
  }
}

/**
 * The problem document of an error answer, as openapi-fetch hands it over in `error`. An answer
 * that is not one (say, a proxy's HTML 502) becomes a problem with code `unexpected_response`.
 */
export function toProblem(error: unknown, response: Response): Problem {
  const requestId = response.headers.get("x-request-id");
  if (isProblem(error)) return { ...error, requestId: error.requestId ?? requestId };
  return {
    type: "about:blank",
    title: `HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`,
    status: response.status,
    detail: "The answer was not a problem document: it may come from a proxy in front of basiq-bff.",
    code: "unexpected_response",
    requestId,
  };
}

function isProblem(value: unknown): value is Problem {
  if (typeof value !== "object" || value === null) return false;
  const { title, status, code } = value as Record<string, unknown>;
  return typeof title === "string" && typeof status === "number" && typeof code === "string";
}

/**
 * The data of a successful answer, or a thrown {@link ProblemError}:
 * `const me = await unwrap(bff.GET("/v1/me"));`. A request that got no answer at all (offline,
 * DNS, CORS) rejects with fetch's own `TypeError`, as fetch does.
 */
export async function unwrap<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await request;
  if (!response.ok) throw new ProblemError(toProblem(error, response), response);
  return data as T;
}
