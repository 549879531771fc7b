import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { RingstackError } from './errors.ts'

/** Checks shared by every role's JSON config file. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export function invalidConfig (where: string, message: string): RingstackError {
  return new RingstackError('InvalidConfig', `${where}: ${message}`)
}

/** Reads a JSON config file; returns the parsed value and the directory relative paths resolve against. */
export async function readConfigFile (path: string): Promise<{ raw: unknown, baseDir: string }> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw invalidConfig(path, `cannot read config (${(err as Error).message})`)
  }
  try {
    return { raw: JSON.parse(text), baseDir: dirname(resolve(path)) }
  } catch (err) {
    throw invalidConfig(path, `not valid JSON (${(err as Error).message})`)
  }
}

export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export function onlyKeys (raw: Record<string, unknown>, allowed: ReadonlySet<string>, where: string): void {
  for (const key of Object.keys(raw)) {
    if (!allowed.has(key)) throw invalidConfig(where, `unknown key "${key}"`)
  }
}

export function portOf (value: unknown, what: string, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) {
    throw invalidConfig(where, `${what} must be an integer in 0..65535`)
  }
  return value
}

export function logLevelOf (value: unknown, where: string): string {
  const level = value ?? 'info'
  if (typeof level !== 'string' || !LOG_LEVELS.includes(level)) {
    throw invalidConfig(where, `"logLevel" must be one of ${LOG_LEVELS.join(', ')}`)
  }
  return level
}
