import { HttpError } from './http.ts'

/** Typed reads of an OpenStack request body's fields; a wrong type is a 400 naming the field. */

export function objectField (body: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = body[key]
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, `"${key}" must be an object`)
  return value as Record<string, unknown>
}

export function stringField (body: Record<string, unknown>, key: string): string {
  const value = body[key]
  if (typeof value !== 'string' || value === '') throw new HttpError(400, `"${key}" must be a non-empty string`)
  return value
}

export function optionalString (body: Record<string, unknown>, key: string): string | undefined {
  return body[key] === undefined || body[key] === null ? undefined : stringField(body, key)
}

/** A positive integer, also given as a decimal string (as the openstack CLI sends some). */
export function optionalInt (body: Record<string, unknown>, key: string, least = 1): number | undefined {
  const value = body[key]
  if (value === undefined || value === null) return undefined
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < least) throw new HttpError(400, `"${key}" must be an integer of at least ${least}`)
  return n
}
