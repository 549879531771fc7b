const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }

/** `4096`, `512K`, `64M`, `10G`, `1T` (binary units; a trailing `iB`/`B` is allowed) to bytes, or undefined. */
export function parseSize (text: string): number | undefined {
  const m = /^(\d+)\s*([kmgt]?)(i?b)?$/i.exec(text.trim())
  if (m === null) return undefined
  const bytes = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!
  return Number.isSafeInteger(bytes) ? bytes : undefined
}

export function formatSize (bytes: number): string {
  for (const [unit, scale] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= scale && bytes % (scale / 1024) === 0) return `${+(bytes / scale).toFixed(2)} ${unit}`
  }
  return `${bytes} B`
}
