import crypto from "node:crypto"
import fc from "fast-check"
import superjson from "superjson"
import db from "db"
import { sealPendingAuditEvents, settleAuditSealing } from "app/audit/sealer"

export { resolverFiles } from "./resolvers"

/**
 * Hostile request bodies for every RPC resolver and every JSON API route, generated with
 * fast-check, and the checks that make them a test: no 5xx answer (HTTP, or an RPC error
 * carrying statusCode >= 500), every answer JSON, and (checked by the caller) no change to
 * the database and the same signed-in identity afterwards.
 */

/**
 * Mutations whose whole input is optional: `null`, no params or `{}` is a valid call that
 * changes things on purpose (signs out, stops, ends access). Those exact bodies are valid
 * requests, not fuzz, and are skipped (counted as such); every other body is sent.
 */
export const NO_INPUT_MUTATIONS = new Set(["logout", "signOutEverywhere", "stopImpersonating", "endAccessByUser"])

export function isNoInputCall(params: unknown): boolean {
  if (params === null || params === undefined) return true
  return typeof params === "object" && !Array.isArray(params) && !(params instanceof Map) && !(params instanceof Set) &&
    Object.getPrototypeOf(params) === Object.prototype && Object.keys(params).length === 0
}

/** Field names the resolvers and the API take, so shaped bodies reach each schema's fields. */
const FIELD_NAMES = [
  "userId", "email", "reason", "ticketUrl", "mode", "password", "id", "name", "token", "hours", "decision",
  "consent", "floor", "organizationId", "role", "newRole", "field", "projectId", "url", "description",
  "enabled", "currentPassword", "newPassword", "repeatNewPassword", "phone", "keyName", "includeArchived",
  "cursor", "page", "pageSize", "query", "status", "memberId", "impersonationId", "sharedWith",
]
const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype"]

export const BIG_STRING_LENGTH = 64 * 1024

// Values no field may take: each shaped body carries at least one of them.
const hostileString = fc.oneof(
  fc.constantFrom("\u0000", "a\u0000b", "\ud800", "x\udfffy", "\udc00\ud800", "\u0000\ud83d", "\ufeff", "\u202e"),
  fc.string({ unit: "binary", minLength: 1, maxLength: 40 }).map((s) => `${s}\u0000`),
  fc.string({ unit: "grapheme", maxLength: 20 }).map((s) => `${s}\ud801`),
  // About 64 kB: the body goes over the limit (413) or, in ASCII a little shorter, stays under it.
  fc.constantFrom(BIG_STRING_LENGTH, BIG_STRING_LENGTH - 200, 60_000).map((n) => "x".repeat(n)),
  fc.constantFrom(20_000, 40_000).map((n) => "\u00e9".repeat(n)),
)
const hostileNumber = fc.constantFrom(
  1e308, -1e308, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53 + 1, -(2 ** 53 + 1),
  Number.MAX_VALUE, Number.MIN_VALUE, 5e-324, 2 ** 31, -(2 ** 31) - 1, 0.5, -1, 1e21,
)
// Types superjson can carry in its meta: a resolver receives a Date, a BigInt, a Map... where it expects a string.
const hostileTyped = fc.oneof(
  fc.constantFrom(new Date(Number.NaN), new Date(8.64e15), new Date(0)),
  fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
  fc.constantFrom(/x/g, new Map([["a", 1]]), new Set([1, 2]), undefined),
)
const wrongType = fc.oneof(
  fc.boolean(),
  fc.constant([]),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.constant({}),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
)
/** A value nested `depth` levels deep (objects and arrays), built without recursion. */
function nested(depth: number, leaf: unknown = 1): unknown {
  let value = leaf
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { a: value }
  return value
}
const deep = fc.integer({ min: 20, max: 300 }).map((depth) => nested(depth))
export const hostileValue = fc.oneof(hostileString, hostileNumber, hostileTyped, wrongType, deep)

/** Plausible values, so that some bodies get past one field to the next. */
const plainValue = fc.oneof(
  fc.constantFrom(1, 2, 7, "READ_ONLY", "READ_WRITE", "APPROVE", "DENY", "ALLOWED", "NEVER", "https://x.example/1", "r"),
  fc.string({ maxLength: 12 }),
  fc.integer(),
  fc.constant(null),
)

/** An object with the resolvers' own field names, at least one of them hostile. */
const shapedParams = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...FIELD_NAMES), plainValue, { maxKeys: 4 }),
    fc.constantFrom(...FIELD_NAMES),
    hostileValue,
  )
  .map(([plain, key, hostile]) => ({ ...plain, [key]: hostile }) as Record<string, unknown>)

export type FuzzBody = {
  /** Which generator made it (for the report). */
  kind: string
  /** The bytes sent. */
  body: string | Uint8Array
  contentType: string | null
  /** What the route would hand the resolver (RPC bodies that parse), to skip valid no-input calls. */
  params?: unknown
}

function rpcJson(params: unknown, kind: string): FuzzBody {
  const { json, meta } = superjson.serialize(params)
  return { kind, body: JSON.stringify({ params: json, meta: { params: meta } }), contentType: "application/json", params }
}

const JSON_TYPE = "application/json"
const wrongContentType = fc.constantFrom(
  null, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonp",
  "text/json", "application/xml", "", "*/*", "application/json-patch+json;", " application/json",
)
const jsonContentType = fc.constantFrom(JSON_TYPE, "application/json; charset=utf-8", "APPLICATION/JSON", "application/json; charset=utf-16")

/** Text that is not JSON, or is broken JSON, or raw bytes that are not UTF-8. */
const notJson = fc.oneof(
  fc.constantFrom("", " ", "{", "}", "[", "null,", '{"params":', '{"params":{"userId":1}', "params=1&reason=x", "undefined",
    "NaN", '{"params":NaN}', '{"params":1e999999}', "\u0000", "<xml/>", "'params'", '{"params":{}}}', "\ufeff{}"),
  fc.string({ unit: "binary", maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }),
  fc.constantFrom(new Uint8Array([0xff, 0xfe, 0x7b, 0x7d]), new Uint8Array([0xc0, 0x80]), new Uint8Array([0xed, 0xa0, 0x80])),
)

/** Raw JSON text with a deep nest of `depth` levels, built as text (no recursion). */
function deepText(depth: number, inMeta: boolean) {
  const open = "[".repeat(depth)
  const close = "]".repeat(depth)
  return inMeta ? `{"params":{"a":1},"meta":{"params":${open}${close}}}` : `{"params":${open}1${close}}`
}

/** JSON text with prototype keys in params, meta paths and meta values (written as text: object literals would eat `__proto__`). */
const prototypeText = fc
  .tuple(fc.constantFrom(...PROTOTYPE_KEYS), fc.constantFrom(...PROTOTYPE_KEYS, "a", "values"), fc.integer({ min: 0, max: 5 }))
  .map(([key, other, variant]) => {
    const k = JSON.stringify(key)
    const o = JSON.stringify(other)
    switch (variant) {
      case 0:
        return `{"params":{${k}:{"role":"SUPERADMIN","isAdmin":true},"userId":1}}`
      case 1:
        return `{"params":{"a":{${k}:{${o}:1}}},"meta":{}}`
      case 2:
        return `{"params":{"a":1},"meta":{"params":{"values":{"${key}.${other}":["Date"]}}}}`
      case 3:
        return `{"params":{"a":1},"meta":{"params":{"values":{${k}:["bigint"]}}}}`
      case 4:
        return `{"params":{${k}:"2020-01-01"},"meta":{"params":{"values":{${k}:["Date"]}},"${key}":1}}`
      default:
        return `{"params":[1],"meta":{"params":{"values":[["map"],{"0.${key}":["set"]}]}}}`
    }
  })

/** Superjson meta that is wrong: types it does not know, paths that do not exist, the wrong shape. */
const badMeta = fc
  .tuple(
    fc.jsonValue({ maxDepth: 2 }),
    fc.oneof(
      fc.constantFrom("Date", "bigint", "number", "undefined", "set", "map", "regexp", "symbol", "class", "custom", "Error", "URL"),
      fc.string({ maxLength: 8 }),
    ),
    fc.oneof(fc.constantFrom("", "a", "0", "a.b", "userId", "a.0.b", "..", "\\.", "1e308"), fc.string({ maxLength: 8 })),
  )
  .chain(([params, type, where]) =>
    fc.constantFrom(
      { values: [type] },
      { values: { [where]: [type] } },
      { values: { [where]: [["custom", type]] } },
      { values: { [where]: type } },
      { values: [type, { [where]: ["number"] }] },
      { referentialEqualities: { [where]: [where] } },
      { values: 1 },
      [],
      "x",
    ).map((meta) => ({ params, meta })),
  )
  .map(({ params, meta }) => JSON.stringify({ params, meta: { params: meta } }))

/** NaN, Infinity and -0 the way a client sends them: numbers annotated in superjson's meta. */
const specialNumberMeta = fc
  .tuple(fc.constantFrom(...FIELD_NAMES), fc.constantFrom("NaN", "Infinity", "-Infinity", "-0", "1e308", "x"))
  .map(([key, value]) => JSON.stringify({ params: { [key]: value }, meta: { params: { values: { [key]: ["number"] } } } }))

/** Numbers JSON.parse turns into what no schema should take (written as text). */
const numberText = fc
  .tuple(fc.constantFrom(...FIELD_NAMES), fc.constantFrom("1e308", "-1e308", "1e309", "-0", "9007199254740993", "5e-324", "0.1e1", "-0.0", "1E400"))
  .map(([key, number]) => `{"params":{${JSON.stringify(key)}:${number}},"meta":{}}`)

/** A body for an RPC resolver. */
export const rpcBody: fc.Arbitrary<FuzzBody> = fc.oneof(
  { weight: 5, arbitrary: shapedParams.map((params) => rpcJson(params, "shaped")) },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((params) => rpcJson(params, "random-json")) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3, withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withBoxedValues: true, withSparseArray: true }).map((params) => rpcJson(params, "anything")) },
  { weight: 2, arbitrary: hostileValue.map((params) => rpcJson(params, "hostile-params")) },
  { weight: 2, arbitrary: prototypeText.map((body) => ({ kind: "prototype-keys", body, contentType: JSON_TYPE })) },
  { weight: 2, arbitrary: badMeta.map((body) => ({ kind: "bad-meta", body, contentType: JSON_TYPE })) },
  { weight: 1, arbitrary: specialNumberMeta.map((body) => ({ kind: "number-meta", body, contentType: JSON_TYPE })) },
  { weight: 1, arbitrary: numberText.map((body) => ({ kind: "number-text", body, contentType: JSON_TYPE })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 30, max: 5000 }), fc.boolean())
      .map(([depth, inMeta]) => ({ kind: "deep-nesting", body: deepText(depth, inMeta), contentType: JSON_TYPE })),
  },
  { weight: 2, arbitrary: fc.tuple(notJson, jsonContentType).map(([body, contentType]) => ({ kind: "not-json", body, contentType })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.jsonValue({ maxDepth: 2 }), wrongContentType)
      .map(([params, contentType]) => ({ ...rpcJson(params, "wrong-content-type"), contentType })),
  },
  {
    weight: 1,
    arbitrary: fc
      .jsonValue({ maxDepth: 2 })
      .map((value) => ({ kind: "no-params-key", body: JSON.stringify(value), contentType: JSON_TYPE })),
  },
)

/** A body for a JSON API route (plain JSON, no superjson). */
export const apiBody: fc.Arbitrary<FuzzBody> = fc.oneof(
  {
    weight: 5,
    arbitrary: shapedParams.map((params) => ({ kind: "shaped", body: JSON.stringify(params, bigintToText), contentType: JSON_TYPE })),
  },
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => ({ kind: "random-json", body: JSON.stringify(value) ?? "", contentType: JSON_TYPE })) },
  {
    weight: 2,
    arbitrary: prototypeText.map((body) => ({ kind: "prototype-keys", body: body.replace(/^\{"params":(.*?),"meta".*$|^\{"params":(.*)\}$/, "$1$2"), contentType: JSON_TYPE })),
  },
  { weight: 1, arbitrary: numberText.map((body) => ({ kind: "number-text", body: body.replace(/^\{"params":(.*),"meta":\{\}\}$/, "$1"), contentType: JSON_TYPE })) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 30, max: 5000 }).map((depth) => ({ kind: "deep-nesting", body: `${"[".repeat(depth)}${"]".repeat(depth)}`, contentType: JSON_TYPE })),
  },
  { weight: 2, arbitrary: fc.tuple(notJson, jsonContentType).map(([body, contentType]) => ({ kind: "not-json", body, contentType })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.jsonValue({ maxDepth: 2 }), wrongContentType)
      .map(([value, contentType]) => ({ kind: "wrong-content-type", body: JSON.stringify(value) ?? "", contentType })),
  },
)

function bigintToText(_key: string, value: unknown) {
  if (typeof value === "bigint") return value.toString()
  if (typeof value === "number" && !Number.isFinite(value)) return String(value)
  return value
}

/** Path segments for /api/actor-tokens/{id}/revoke. */
export const idSegment = fc.oneof(
  fc.constantFrom("0", "-1", "1e308", "NaN", "Infinity", "9007199254740993", "2147483648", "1.5", "0x10", " 1", "__proto__", "constructor", "%00", "%ud800", "", "null", "1;drop"),
  fc.string({ maxLength: 30 }),
  fc.constant("9".repeat(5000)),
)

/** Query strings for GET /api/actor-tokens. */
export const statusQuery = fc.oneof(
  fc.constantFrom("", "?status=", "?status=pending&status=used", "?status[]=used", "?status=__proto__", "?status=%00", "?status=%ED%A0%80", "?status=PENDING"),
  fc.string({ maxLength: 40 }).map((s) => `?status=${encodeURIComponent(s)}`),
  fc.constant(`?status=${"x".repeat(BIG_STRING_LENGTH)}`),
)

/** What is wrong with an answer, or null: a 5xx (HTTP or in an RPC error), or a body that is not JSON. */
export async function answerProblem(response: Response): Promise<string | null> {
  if (response.status >= 500) return `HTTP ${response.status}: ${(await response.clone().text()).slice(0, 300)}`
  const text = await response.clone().text()
  let payload: { error?: { statusCode?: number; name?: string; message?: string } | null } | null
  try {
    payload = JSON.parse(text) as typeof payload
  } catch {
    return `HTTP ${response.status} answered a body that is not JSON: ${text.slice(0, 200)}`
  }
  const error = payload?.error
  if (error && (error.statusCode ?? 0) >= 500) return `HTTP ${response.status} with error ${error.name} ${error.statusCode}: ${error.message}`
  if (error && (!error.name || !error.message)) return `HTTP ${response.status} with an error that does not say what is wrong: ${text.slice(0, 200)}`
  if (response.status >= 400 && !error) return `HTTP ${response.status} without an error in the body: ${text.slice(0, 200)}`
  return null
}

/** The kind of answer, for the report: HTTP status and error name (`200 ok` for a result). */
export async function answerLabel(response: Response): Promise<string> {
  try {
    const payload = (await response.clone().json()) as { error?: { name?: string } | null }
    return `${response.status} ${payload?.error?.name ?? "ok"}`
  } catch {
    return `${response.status} (not JSON)`
  }
}

/** A short, printable description of a body, to reproduce a failure. */
export function describeBody(body: FuzzBody): string {
  const text = typeof body.body === "string" ? body.body : `bytes ${Buffer.from(body.body).toString("hex")}`
  const shown = text.length > 300 ? `${text.slice(0, 300)}... (${text.length} chars)` : text
  return `[${body.kind}] content-type ${JSON.stringify(body.contentType)}: ${JSON.stringify(shown)}`
}

// ---------------------------------------------------------------------------------------------
// The database before and after.

/**
 * Columns a valid request legitimately changes, left out of each table's hash:
 * - User.lastSeenAt: moves with the signed-in user's own requests, at most once a minute (a
 *   query by a signed-in user is a valid request);
 * - Session.expiresAt/updatedAt: Blitz extends a session's expiry as it is used;
 * - AuditEventDay.lastId: kept by a trigger from AuditEvent, whose new rows are checked one by one.
 */
export const VOLATILE_COLUMNS: Record<string, string[]> = {
  User: ["lastSeenAt", "updatedAt"],
  Session: ["expiresAt", "updatedAt"],
  AuditEventDay: ["lastId"],
}

export type DbSnapshot = { tables: Record<string, { rows: number; hash: string }>; lastAuditId: number }

async function tableNames(): Promise<string[]> {
  const rows = await db.$queryRawUnsafe<Array<{ name: string }>>(
    `SELECT tablename::text AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> '_prisma_migrations' ORDER BY tablename`,
  )
  return rows.map((row) => row.name)
}

/**
 * Every table: its row count and a hash of its rows (volatile columns left out). AuditEvent is
 * hashed up to the last id seen before, so the rows a refusal legitimately appends are checked
 * apart (auditRowsSince).
 */
export async function snapshotDatabase(lastAuditId?: number): Promise<DbSnapshot> {
  // At rest: the audit events recorded so far are sealed (their seals and the day bounds the
  // sealer keeps would otherwise change between two snapshots).
  await settleAuditSealing()
  await sealPendingAuditEvents()
  const tables: DbSnapshot["tables"] = {}
  const [last] = await db.$queryRawUnsafe<Array<{ max: number | null }>>(`SELECT max(id) AS max FROM "AuditEvent"`)
  const max = last?.max ?? null
  const auditLimit = lastAuditId ?? max ?? 0
  for (const name of await tableNames()) {
    const drop = VOLATILE_COLUMNS[name] ?? []
    const row = drop.length ? `(to_jsonb(t) - ARRAY[${drop.map((c) => `'${c}'`).join(",")}]::text[])` : "to_jsonb(t)"
    const where = name === "AuditEvent" ? `WHERE t.id <= ${Number(auditLimit)}` : ""
    const [result] = await db.$queryRawUnsafe<Array<{ rows: number; hash: string | null }>>(
      `SELECT count(*)::int AS rows, md5(string_agg(x, '|' ORDER BY x)) AS hash FROM (SELECT ${row}::text AS x FROM "${name}" t ${where}) s`,
    )
    tables[name] = { rows: result!.rows, hash: result!.hash ?? "" }
  }
  return { tables, lastAuditId: Number(max ?? 0) }
}

/** The tables whose rows differ between two snapshots, in words. */
export function snapshotDifferences(before: DbSnapshot, after: DbSnapshot): string[] {
  const names = new Set([...Object.keys(before.tables), ...Object.keys(after.tables)])
  const changed: string[] = []
  for (const name of names) {
    const a = before.tables[name]
    const b = after.tables[name]
    if (a?.rows !== b?.rows || a?.hash !== b?.hash) changed.push(`${name}: ${a?.rows} -> ${b?.rows} rows${a?.hash !== b?.hash ? ", contents changed" : ""}`)
  }
  return changed
}

/**
 * Audit rows a refused request legitimately appends: an impersonated session's gated
 * mutation is recorded whatever its outcome (IMPERSONATED_MUTATION REFUSED or FAILED, rule
 * 9); a refused sign-in or start is recorded (SIGN_IN_FAILED, IMPERSONATION_REFUSED,
 * ACTOR_TOKEN_REFUSED). Anything else (an ALLOWED mutation, a start, a sign-out) is a change.
 */
export async function unexpectedAuditRows(sinceId: number): Promise<string[]> {
  const rows = await db.auditEvent.findMany({ where: { id: { gt: sinceId } }, orderBy: { id: "asc" } })
  return rows
    .filter((row) => {
      const details = row.details as { outcome?: string } | null
      if (row.action === "IMPERSONATED_MUTATION") return details?.outcome === "ALLOWED"
      return !["SIGN_IN_FAILED", "IMPERSONATION_REFUSED", "ACTOR_TOKEN_REFUSED"].includes(row.action)
    })
    .map((row) => `AuditEvent ${row.id} ${row.action} ${JSON.stringify(row.details).slice(0, 200)}`)
}

export function sha256(text: string) {
  return crypto.createHash("sha256").update(text).digest("hex")
}
