import type { IncomingHttpHeaders } from 'node:http'

/**
 * The SigV4 canonical request, built the way S3 builds it: from the path and
 * query exactly as the client sent them (no dot-segment or slash
 * normalisation), each component percent-decoded once and re-encoded with the
 * SigV4 rule, so `/test$file.text` and `/test%24file.text` both canonicalise to
 * `/test%24file.text`.
 */

const HEX = '0123456789ABCDEF'

function isUnreserved (byte: number): boolean {
  return (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) ||
    byte === 0x2d || byte === 0x2e || byte === 0x5f || byte === 0x7e
}

/** RFC 3986 encoding of bytes: everything but A-Z a-z 0-9 - . _ ~ as %XX (upper case). */
export function uriEncodeBytes (bytes: Uint8Array): string {
  let out = ''
  for (const byte of bytes) {
    out += isUnreserved(byte) ? String.fromCharCode(byte) : '%' + HEX[byte >> 4]! + HEX[byte & 15]!
  }
  return out
}

export function uriEncode (text: string): string {
  return uriEncodeBytes(Buffer.from(text, 'utf8'))
}

function hexValue (code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30
  const lower = code | 0x20
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10
  return -1
}

/**
 * Percent-decodes to bytes. A `%` not followed by two hex digits is kept as a
 * literal `%`, which is what the client must have meant; `+` stays `+` (SigV4
 * is RFC 3986, not form encoding).
 */
export function percentDecode (text: string): Buffer {
  if (!text.includes('%')) return Buffer.from(text, 'utf8')
  const out: number[] = []
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === 0x25 && i + 2 < text.length && hexValue(text.charCodeAt(i + 1)) >= 0 && hexValue(text.charCodeAt(i + 2)) >= 0) {
      out.push(hexValue(text.charCodeAt(i + 1)) * 16 + hexValue(text.charCodeAt(i + 2)))
      i += 2
    } else if (code < 0x80) {
      out.push(code)
    } else {
      const end = i + (code >= 0xd800 && code <= 0xdbff ? 2 : 1)
      out.push(...Buffer.from(text.slice(i, end), 'utf8'))
      i = end - 1
    }
  }
  return Buffer.from(out)
}

/**
 * Segments are decoded and re-encoded one by one, so a literal `/` stays a
 * separator while an encoded `%2F` inside a key stays `%2F`.
 */
export function canonicalPath (rawPath: string): string {
  if (rawPath === '') return '/'
  return rawPath.split('/').map((segment) => uriEncodeBytes(percentDecode(segment))).join('/')
}

export interface QueryParam {
  /** Decoded name and value, as the S3 handlers see them. */
  name: string
  value: string
  /** The SigV4-encoded forms that go into the canonical query. */
  encodedName: string
  encodedValue: string
}

/** Splits a raw query string (without `?`); `a&b=` gives two params with empty values. */
export function parseQuery (rawQuery: string): QueryParam[] {
  const params: QueryParam[] = []
  for (const piece of rawQuery.split('&')) {
    if (piece === '') continue
    const eq = piece.indexOf('=')
    const nameBytes = percentDecode(eq < 0 ? piece : piece.slice(0, eq))
    const valueBytes = percentDecode(eq < 0 ? '' : piece.slice(eq + 1))
    params.push({
      name: nameBytes.toString('utf8'),
      value: valueBytes.toString('utf8'),
      encodedName: uriEncodeBytes(nameBytes),
      encodedValue: uriEncodeBytes(valueBytes)
    })
  }
  return params
}

/** Sorted by encoded name, then encoded value; both are ASCII so code-unit order is byte order. */
export function canonicalQuery (params: readonly QueryParam[], exclude?: string): string {
  return params
    .filter((p) => p.name !== exclude)
    .map((p) => [p.encodedName, p.encodedValue] as const)
    .sort(([an, av], [bn, bv]) => an < bn ? -1 : an > bn ? 1 : av < bv ? -1 : av > bv ? 1 : 0)
    .map(([name, value]) => `${name}=${value}`)
    .join('&')
}

/** Trimmed, with inner runs of spaces and tabs collapsed to one space; repeated headers joined by `,`. */
export function canonicalHeaderValue (value: string | string[] | undefined): string {
  const joined = Array.isArray(value) ? value.map((v) => v.trim()).join(',') : value ?? ''
  return joined.trim().replace(/[ \t]+/g, ' ')
}

export interface CanonicalRequestInput {
  method: string
  rawPath: string
  query: readonly QueryParam[]
  /** Left out of the canonical query: `X-Amz-Signature` for presigned URLs. */
  excludeParam?: string
  headers: IncomingHttpHeaders
  /** Lower-case names, in the order the client listed them. */
  signedHeaders: readonly string[]
  payloadHash: string
}

export function canonicalRequest (input: CanonicalRequestInput): string {
  const headerLines = input.signedHeaders.map((name) => `${name}:${canonicalHeaderValue(input.headers[name])}\n`).join('')
  return [
    input.method.toUpperCase(),
    canonicalPath(input.rawPath),
    canonicalQuery(input.query, input.excludeParam),
    headerLines,
    input.signedHeaders.join(';'),
    input.payloadHash
  ].join('\n')
}
