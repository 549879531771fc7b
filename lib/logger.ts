import { destination, pino, type Logger } from 'pino'

export type { Logger }

export interface LoggerOptions {
  level?: string
  /** Where lines go; defaults to stderr so stdout stays for CLI output. */
  destination?: number
}

/** Structured JSON lines, one logger per process, children per component. */
export function createLogger (name: string, options: LoggerOptions = {}): Logger {
  return pino({ name, level: options.level ?? process.env.RINGSTACK_LOG_LEVEL ?? 'info' },
    destination({ fd: options.destination ?? 2, sync: false }))
}

/** For tests and libraries used without a process-level logger. */
export function silentLogger (): Logger {
  return pino({ level: 'silent' })
}
