import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/** The cryptographic pieces of SigV4 that the request, chunk and trailer signatures share. */

export const ALGORITHM = 'AWS4-HMAC-SHA256'
export const CHUNK_ALGORITHM = 'AWS4-HMAC-SHA256-PAYLOAD'
export const TRAILER_ALGORITHM = 'AWS4-HMAC-SHA256-TRAILER'
export const SCOPE_TERMINATOR = 'aws4_request'

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

export function sha256Hex (data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

function hmac (key: Uint8Array | string, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest()
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function deriveSigningKey (secretAccessKey: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac('AWS4' + secretAccessKey, date), region), service), SCOPE_TERMINATOR)
}

export function signHex (signingKey: Uint8Array, stringToSign: string): string {
  return hmac(signingKey, stringToSign).toString('hex')
}

export function requestStringToSign (amzDate: string, scope: string, canonicalRequest: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonicalRequest)}`
}

/** Each chunk's signature chains on the previous one, starting from the request's (seed) signature. */
export function chunkStringToSign (amzDate: string, scope: string, previousSignature: string, chunkSha256Hex: string): string {
  return `${CHUNK_ALGORITHM}\n${amzDate}\n${scope}\n${previousSignature}\n${EMPTY_SHA256}\n${chunkSha256Hex}`
}

/** The trailer signature chains on the final (empty) chunk's signature. */
export function trailerStringToSign (amzDate: string, scope: string, previousSignature: string, trailerSha256Hex: string): string {
  return `${TRAILER_ALGORITHM}\n${amzDate}\n${scope}\n${previousSignature}\n${trailerSha256Hex}`
}

const SIGNATURE_SHAPE = /^[0-9a-f]{64}$/

/** Constant-time comparison of a computed hex signature with whatever the client sent. */
export function signaturesMatch (expectedHex: string, provided: string): boolean {
  if (!SIGNATURE_SHAPE.test(provided)) return false
  return timingSafeEqual(Buffer.from(expectedHex, 'hex'), Buffer.from(provided, 'hex'))
}

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/

/** Parses `20130524T000000Z`; undefined when malformed or not a real instant. */
export function parseAmzDate (value: string): Date | undefined {
  const m = AMZ_DATE.exec(value)
  if (m === null) return undefined
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number]
  const time = Date.UTC(year, month - 1, day, hour, minute, second)
  const date = new Date(time)
  // Date.UTC rolls 20130231 over to March; a real timestamp must round-trip.
  return formatAmzDate(date) === value ? date : undefined
}

export function formatAmzDate (date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '')
}
