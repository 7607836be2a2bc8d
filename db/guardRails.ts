import { sensitiveFields } from "blitz.config"
import { maskValue } from "app/impersonation/policy"

/**
 * The database half of rule 9, applied to every query of the app's one client (db/index.ts):
 * sensitive fields are masked in results while impersonating, and rows of models that carry
 * `changedByActorId` record the admin behind a write made through an impersonation (null for
 * any other write). Nothing per resolver.
 */

type Field = { name: string; kind: string; type: string }
export type DataModel = { models: Record<string, { fields: Field[] }> }

/** Every model operation that changes rows. */
export const WRITES = new Set([
  "create", "createMany", "createManyAndReturn", "update", "updateMany", "updateManyAndReturn",
  "upsert", "delete", "deleteMany",
])

const WRITE_ONE = new Set(["create", "update"])
const WRITE_MANY = new Set(["createMany", "createManyAndReturn", "updateMany", "updateManyAndReturn"])

const sensitiveByModel = new Map<string, Set<string>>()
for (const { model, field } of Object.values(sensitiveFields)) {
  sensitiveByModel.set(model, (sensitiveByModel.get(model) ?? new Set()).add(field))
}

export function makeGuardRails(dataModel: DataModel) {
  const relations = new Map<string, Map<string, string>>()
  const attributed = new Set<string>()
  for (const [model, { fields }] of Object.entries(dataModel.models)) {
    relations.set(model, new Map(fields.filter((f) => f.kind === "object").map((f) => [f.name, f.type])))
    if (fields.some((f) => f.name === "changedByActorId")) attributed.add(model)
  }

  /** Masks the sensitive fields of `model` in a result, following included relations. */
  function mask(model: string, value: unknown, depth = 0): unknown {
    if (depth > 16 || value === null || typeof value !== "object" || value instanceof Date) return value
    if (Array.isArray(value)) return value.map((item) => mask(model, item, depth + 1))
    const sensitive = sensitiveByModel.get(model)
    const related = relations.get(model)
    const row = value as Record<string, unknown>
    for (const key of Object.keys(row)) {
      if (sensitive?.has(key) && (typeof row[key] === "string" || row[key] === null)) {
        row[key] = maskValue(row[key] as string | null)
      } else if (related?.has(key)) {
        row[key] = mask(related.get(key)!, row[key], depth + 1)
      }
    }
    return row
  }

  /** The write's arguments with `changedByActorId` set to the admin behind it (or null). */
  function attribute(model: string, operation: string, args: Record<string, unknown>, actorId: number | null) {
    if (!attributed.has(model)) return args
    const stamp = (data: unknown) =>
      Array.isArray(data)
        ? data.map((row) => ({ ...(row as object), changedByActorId: actorId }))
        : { ...(data as object), changedByActorId: actorId }
    if (WRITE_ONE.has(operation) || WRITE_MANY.has(operation)) return { ...args, data: stamp(args.data) }
    if (operation === "upsert") return { ...args, create: stamp(args.create), update: stamp(args.update) }
    return args
  }

  return { mask, attribute, masksModel: (model: string) => sensitiveByModel.has(model) || (relations.get(model)?.size ?? 0) > 0 }
}
