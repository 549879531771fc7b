import type { Logger } from './logger.ts'

/**
 * A role's process life: start, announce readiness on stdout (one line that
 * supervisors and tests wait for), run until SIGINT or SIGTERM, then stop.
 */
export async function runUntilSignal (start: () => Promise<void>, stop: () => Promise<void>, readyLine: () => string,
  logger: Logger): Promise<void> {
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await start()
  process.stdout.write(`${readyLine()}\n`)
  const signal = await signalled
  logger.info({ signal }, 'stopping')
  await stop()
}
