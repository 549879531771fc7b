export interface ProgressStream {
  isTTY?: boolean
  write: (text: string) => unknown
}

/**
 * Progress of a transfer of `total` bytes on stderr: a bar redrawn in place
 * on a terminal, otherwise a line at every tenth (logs and CI keep them).
 * Returns the update function; `done()` ends the bar's line.
 */
export function progressReporter (label: string, total: number, stream: ProgressStream = process.stderr):
{ update: (bytes: number) => void, done: () => void } {
  const width = 30
  let lastTenth = -1
  let lastDraw = 0
  const percent = (bytes: number): number => total === 0 ? 100 : Math.floor(bytes * 100 / total)
  return {
    update: (bytes) => {
      if (stream.isTTY === true) {
        const now = Date.now()
        if (now - lastDraw < 100 && bytes < total) return
        lastDraw = now
        const filled = Math.round(width * percent(bytes) / 100)
        stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(percent(bytes)).padStart(3)}% ${mib(bytes)} / ${mib(total)} MiB  `)
        return
      }
      const tenth = Math.floor(percent(bytes) / 10)
      if (tenth === lastTenth) return
      lastTenth = tenth
      stream.write(`${label}: ${percent(bytes)}% (${bytes}/${total} bytes)\n`)
    },
    done: () => { if (stream.isTTY === true) stream.write('\n') }
  }
}

function mib (bytes: number): string {
  return (bytes / 1024 ** 2).toFixed(1)
}
