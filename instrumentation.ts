/**
 * Runs once when the server starts. On the embedded engine the server takes the data folder's
 * lock (and migrates) now, not at its first query, so that a second process, or a second
 * server, fails at once with a message naming the holder instead of racing it later.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return
  try {
    // A bad setting stops the server now rather than failing every request later.
    await import("app/core/serverConfig")
    const { auditKey } = await import("app/audit/key")
    auditKey() // production without AUDIT_HMAC_KEY refuses to start
  } catch (error) {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  }
  const { engineFromEnv, openEmbedded, describeEngine } = await import("db/engine")
  const engine = engineFromEnv()
  if (engine.kind !== "pglite") return
  try {
    await openEmbedded(engine.dataDir)
    console.log(`Database: ${describeEngine(engine)}`)
  } catch (error) {
    console.error(error instanceof Error ? error.message : error)
    process.exit(1)
  }
}
