import type { IncomingHttpHeaders } from 'node:http'
import { S3Error } from './errors.ts'

/** What a precondition is checked against: the current object, or none. */
export interface ConditionSubject {
  etag: string
  lastModified: Date
}

function header (headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(',') : value
}

function etagMatches (list: string, etag: string): boolean {
  return list.split(',').map((t) => t.trim().replace(/^W\//, '').replace(/^"|"$/g, ''))
    .some((t) => t === '*' || t === etag)
}

/** HTTP dates compare at one-second precision, the precision Last-Modified has. */
function parseDate (value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const t = Date.parse(value)
  return Number.isNaN(t) ? undefined : Math.floor(t / 1000)
}

/**
 * RFC 7232 preconditions for GET/HEAD as S3 evaluates them: If-Match and
 * If-Unmodified-Since fail with 412, If-None-Match and If-Modified-Since
 * with 304; If-Match wins over If-Unmodified-Since and If-None-Match over
 * If-Modified-Since. `prefix` reads the x-amz-copy-source-if-* variants.
 */
export function checkReadConditions (headers: IncomingHttpHeaders, subject: ConditionSubject, prefix = ''): void {
  const ifMatch = header(headers, `${prefix}if-match`)
  const ifNoneMatch = header(headers, `${prefix}if-none-match`)
  const ifModifiedSince = parseDate(header(headers, `${prefix}if-modified-since`))
  const ifUnmodifiedSince = parseDate(header(headers, `${prefix}if-unmodified-since`))
  const modified = Math.floor(subject.lastModified.getTime() / 1000)
  // A failed copy-source condition is always 412: there is nothing to "not modify".
  const notModified = prefix === '' ? 'NotModified' : 'PreconditionFailed'
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, subject.etag)) throw new S3Error('PreconditionFailed', undefined, { details: { Condition: `${prefix}If-Match` } })
  } else if (ifUnmodifiedSince !== undefined && modified > ifUnmodifiedSince) {
    throw new S3Error('PreconditionFailed', undefined, { details: { Condition: `${prefix}If-Unmodified-Since` } })
  }
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, subject.etag)) throw new S3Error(notModified)
  } else if (ifModifiedSince !== undefined && modified <= ifModifiedSince) {
    throw new S3Error(notModified)
  }
}

/**
 * Conditional PUT: `If-None-Match: *` fails when the key exists, `If-Match`
 * when it is missing or has another ETag. `current` is undefined when the
 * key does not exist.
 */
export function checkWriteConditions (headers: IncomingHttpHeaders, current: ConditionSubject | undefined): void {
  const ifNoneMatch = header(headers, 'if-none-match')
  const ifMatch = header(headers, 'if-match')
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') throw new S3Error('NotImplemented', 'If-None-Match on PUT supports only *')
    if (current !== undefined) throw new S3Error('PreconditionFailed', undefined, { details: { Condition: 'If-None-Match' } })
  }
  if (ifMatch !== undefined) {
    if (current === undefined) throw new S3Error('NoSuchKey')
    if (!etagMatches(ifMatch, current.etag)) throw new S3Error('PreconditionFailed', undefined, { details: { Condition: 'If-Match' } })
  }
}

export function hasWriteConditions (headers: IncomingHttpHeaders): boolean {
  return headers['if-none-match'] !== undefined || headers['if-match'] !== undefined
}
