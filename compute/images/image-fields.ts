import { ImageError } from './errors.ts'
import { CONTAINER_FORMATS, DISK_FORMATS, VISIBILITIES } from './records.ts'

const MAX_NAME = 255
const MAX_PROPERTY = 65535

/** A client-set value, checked against Glance's schema for `field` (a custom property when not a core one). */
export function checkField (field: string, value: unknown): unknown {
  switch (field) {
    case 'name':
      if (value !== null && (typeof value !== 'string' || value.length > MAX_NAME)) throw invalid(field, `a string of at most ${MAX_NAME} characters, or null`)
      return value
    case 'disk_format':
      return oneOf(field, value, DISK_FORMATS)
    case 'container_format':
      return oneOf(field, value, CONTAINER_FORMATS)
    case 'visibility':
      if (!(VISIBILITIES as readonly unknown[]).includes(value)) throw invalid(field, `one of ${VISIBILITIES.join(', ')}`)
      return value
    case 'min_disk':
    case 'min_ram':
      if (!Number.isSafeInteger(value) || (value as number) < 0) throw invalid(field, 'a whole number >= 0')
      return value
    case 'protected':
      if (typeof value !== 'boolean') throw invalid(field, 'true or false')
      return value
    case 'tags':
      if (!Array.isArray(value) || !value.every((t) => typeof t === 'string' && t.length <= MAX_NAME)) throw invalid(field, 'a list of strings')
      return [...new Set(value as string[])]
    default:
      if (field.length > MAX_NAME) throw new ImageError('InvalidArgument', `property names are at most ${MAX_NAME} characters`)
      if (typeof value !== 'string' || value.length > MAX_PROPERTY) throw invalid(field, 'a string (custom properties are strings)')
      return value
  }
}

/** Null, or one of `allowed`. */
function oneOf (field: string, value: unknown, allowed: readonly string[]): unknown {
  if (value !== null && !allowed.includes(value as string)) throw invalid(field, `one of ${allowed.join(', ')}`)
  return value
}

function invalid (field: string, what: string): ImageError {
  return new ImageError('InvalidArgument', `'${field}' must be ${what}`)
}
