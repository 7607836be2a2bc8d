import fs from "node:fs"
import path from "node:path"

/** Every resolver, as Blitz registers them (test/helpers/browser.ts): files in queries/ or mutations/ under app/. */
export function resolverFiles(): Array<{ name: string; kind: "query" | "mutation" }> {
  const found: Array<{ name: string; kind: "query" | "mutation" }> = []
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name)
      if (entry.isDirectory()) walk(full)
      else {
        const parent = path.basename(dir)
        if ((parent === "queries" || parent === "mutations") && /\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) {
          found.push({ name: path.basename(entry.name, ".ts"), kind: parent === "queries" ? "query" : "mutation" })
        }
      }
    }
  }
  walk(path.join(process.cwd(), "app"))
  return found.sort((a, b) => a.name.localeCompare(b.name))
}
