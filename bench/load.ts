import { readFile } from 'node:fs/promises'

/** Result of one closed-loop load phase. */
export interface PhaseResult {
  name: string
  ops: number
  bytes: number
  errors: number
  seconds: number
  latenciesMs: number[]
}

/**
 * Runs `op` from `concurrency` workers back to back until `seconds` pass
 * (a closed loop, like the peer load generator in shared/notes/object).
 */
export async function closedLoop (name: string, concurrency: number, seconds: number,
  op: (worker: number, seq: number) => Promise<number>): Promise<PhaseResult> {
  const latenciesMs: number[] = []
  let bytes = 0
  let errors = 0
  let seq = 0
  const started = performance.now()
  const until = started + seconds * 1000
  let firstError: unknown
  await Promise.all(Array.from({ length: concurrency }, async (_, worker) => {
    while (performance.now() < until) {
      const t0 = performance.now()
      try {
        // Not `bytes += await ...`: that reads `bytes` before the await and loses the other workers' additions.
        const n = await op(worker, seq++)
        bytes += n
        latenciesMs.push(performance.now() - t0)
      } catch (err) {
        errors++
        firstError ??= err
      }
    }
  }))
  if (errors > 0) process.stderr.write(`${name}: ${errors} errors, first: ${String(firstError)}\n`)
  return { name, ops: latenciesMs.length, bytes, errors, seconds: (performance.now() - started) / 1000, latenciesMs }
}

function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
}

export function formatTable (results: PhaseResult[]): string {
  const rows = [['phase', 'ops/s', 'MiB/s', 'p50 ms', 'p99 ms', 'errors']]
  for (const r of results) {
    const sorted = [...r.latenciesMs].sort((a, b) => a - b)
    rows.push([r.name, (r.ops / r.seconds).toFixed(1), (r.bytes / r.seconds / 1048576).toFixed(1),
      percentile(sorted, 0.5).toFixed(1), percentile(sorted, 0.99).toFixed(1), String(r.errors)])
  }
  return markdownTable(rows)
}

/** A Markdown table: the first row is the header, the first column left-aligned, the rest right-aligned. */
export function markdownTable (rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)))
  const line = (row: string[]): string => `| ${row.map((cell, c) => c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)).join(' | ')} |`
  const rule = `|${widths.map((w, c) => c === 0 ? '-'.repeat(w + 2) : '-'.repeat(w + 1) + ':').join('|')}|`
  return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n')
}

/** Resident memory of a process now and at its peak (VmRSS, VmHWM), in MiB. */
export async function memoryMiB (pid: number): Promise<{ rss: number, peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const mib = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024
  return { rss: mib('VmRSS'), peak: mib('VmHWM') }
}
