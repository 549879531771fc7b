import type { IncomingHttpHeaders } from 'node:http'

/** What a precondition is checked against: the current object, or none. */
export interface ConditionSubject {
  etag: string
  lastModified: Date
}

/** Why a precondition stopped a request: 412 (`failed`) or 304 (`not-modified`), naming the header. */
export interface ConditionOutcome {
  outcome: 'failed' | 'not-modified'
  condition: string
}

function header (headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(',') : value
}

export function etagMatches (list: string, etag: string): boolean {
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
 * RFC 7232 preconditions for GET/HEAD, as S3 and Swift both evaluate them:
 * If-Match and If-Unmodified-Since fail with 412, If-None-Match and
 * If-Modified-Since with 304; If-Match wins over If-Unmodified-Since and
 * If-None-Match over If-Modified-Since. `prefix` reads variants such as
 * S3's x-amz-copy-source-if-*. Undefined when the request may proceed.
 */
export function evaluateReadConditions (headers: IncomingHttpHeaders, subject: ConditionSubject, prefix = ''): ConditionOutcome | undefined {
  const ifMatch = header(headers, `${prefix}if-match`)
  const ifNoneMatch = header(headers, `${prefix}if-none-match`)
  const ifModifiedSince = parseDate(header(headers, `${prefix}if-modified-since`))
  const ifUnmodifiedSince = parseDate(header(headers, `${prefix}if-unmodified-since`))
  const modified = Math.floor(subject.lastModified.getTime() / 1000)
  if (ifMatch !== undefined) {
    if (!etagMatches(ifMatch, subject.etag)) return { outcome: 'failed', condition: `${prefix}If-Match` }
  } else if (ifUnmodifiedSince !== undefined && modified > ifUnmodifiedSince) {
    return { outcome: 'failed', condition: `${prefix}If-Unmodified-Since` }
  }
  if (ifNoneMatch !== undefined) {
    if (etagMatches(ifNoneMatch, subject.etag)) return { outcome: 'not-modified', condition: `${prefix}If-None-Match` }
  } else if (ifModifiedSince !== undefined && modified <= ifModifiedSince) {
    return { outcome: 'not-modified', condition: `${prefix}If-Modified-Since` }
  }
  return undefined
}

/**
 * Conditional PUT: `If-None-Match: *` fails when the key exists, `If-Match`
 * when it is missing (`missing`) or has another ETag. `current` is undefined
 * when the key does not exist. `unsupported` is an If-None-Match other than *.
 */
export function evaluateWriteConditions (headers: IncomingHttpHeaders, current: ConditionSubject | undefined):
ConditionOutcome | { outcome: 'missing' | 'unsupported', condition: string } | undefined {
  const ifNoneMatch = header(headers, 'if-none-match')
  const ifMatch = header(headers, 'if-match')
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch.trim() !== '*') return { outcome: 'unsupported', condition: 'If-None-Match' }
    if (current !== undefined) return { outcome: 'failed', condition: 'If-None-Match' }
  }
  if (ifMatch !== undefined) {
    if (current === undefined) return { outcome: 'missing', condition: 'If-Match' }
    if (!etagMatches(ifMatch, current.etag)) return { outcome: 'failed', condition: 'If-Match' }
  }
  return undefined
}

export function hasWriteConditions (headers: IncomingHttpHeaders): boolean {
  return headers['if-none-match'] !== undefined || headers['if-match'] !== undefined
}
