import type { Logger } from '../../lib/logger.ts'

/**
 * Progress of long work as log lines: the first report of each phase, then
 * at most one every `everyMs`, each with the bytes done so far.
 */
export function progressLog (logger: Logger, fields: Record<string, unknown>, everyMs = 2000): (phase: string, bytes: number) => void {
  let phase = ''
  let last = 0
  return (now, bytes) => {
    const time = Date.now()
    if (now === phase && time - last < everyMs) return
    phase = now
    last = time
    logger.info({ ...fields, phase, bytes }, `image ${phase}: ${bytes} bytes`)
  }
}
