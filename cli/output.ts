import type { CommandIO } from './io.ts'

export type Json = Record<string, unknown>

/** How an API command prints what it got: JSON with --json, else for people. */
export interface Output {
  io: CommandIO
  json: boolean
}

/** One row per record; `cell` formats a column's value (default: as is, '-' when absent). */
export function printTable (o: Output, records: Json[], columns: readonly string[],
  cell: (record: Json, column: string) => unknown = (record, column) => record[column]): void {
  if (o.json) {
    o.io.out(JSON.stringify(records, null, 2))
    return
  }
  const text = (record: Json, column: string): string => {
    const value = cell(record, column)
    return value === null || value === undefined ? '-' : String(value)
  }
  const rows = [columns.map((col) => col.toUpperCase()), ...records.map((r) => columns.map((col) => text(r, col)))]
  const widths = columns.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)))
  for (const row of rows) o.io.out(row.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd())
}

/** `key  value` lines for the record's scalar fields; `show` may format a value. */
export function printRecord (o: Output, record: Json, show: (key: string, value: unknown) => string = (_, value) => String(value ?? '-')): void {
  if (o.json) {
    o.io.out(JSON.stringify(record, null, 2))
    return
  }
  const shown = Object.entries(record).filter(([, v]) => typeof v !== 'object' || v === null)
  const width = Math.max(...shown.map(([k]) => k.length))
  for (const [key, value] of shown) o.io.out(`${key.padEnd(width)}  ${show(key, value)}`)
}
