/**
 * A small RFC 4180 reader for checking the audit export (quoted fields with commas, quotes and
 * line breaks). Written independently of csv-stringify, so a test compares two implementations.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = []
  let record: string[] = []
  let field = ""
  let quoted = false
  let i = 0
  while (i < text.length) {
    const char = text[i]!
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"'
        i += 2
        continue
      }
      if (char === '"') quoted = false
      else field += char
      i++
      continue
    }
    if (char === '"') quoted = true
    else if (char === ",") {
      record.push(field)
      field = ""
    } else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[i + 1] === "\n") i++
      record.push(field)
      records.push(record)
      record = []
      field = ""
    } else field += char
    i++
  }
  if (field !== "" || record.length) {
    record.push(field)
    records.push(record)
  }
  return records
}

/** Header row and records as objects keyed by the header's names. */
export function csvObjects(text: string): {
  header: string[]
  rows: Array<Record<string, string>>
} {
  const [header = [], ...records] = parseCsv(text)
  return {
    header,
    rows: records.map((record) =>
      Object.fromEntries(header.map((name, i) => [name, record[i] ?? ""])),
    ),
  }
}
