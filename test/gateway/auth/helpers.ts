import { createHash, createHmac } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { Readable } from 'node:stream'
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'
import {
  authenticate, MemoryCredentialStore, type AuthContext, type PayloadResult, type PayloadStream, type S3Request
} from '../../../gateway/s3/auth/index.ts'

/** The key pair and instant of the AWS SigV4 documentation examples. */
export const DOC = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  now: (): Date => new Date('2013-05-24T00:00:00Z'),
  scope: '20130524/us-east-1/s3/aws4_request',
  date: '20130524T000000Z'
} as const

/** A key with characters that trip naive encoders. */
export const KEY = { accessKeyId: 'RSTESTKEY0001', secretAccessKey: 'x/y+z=Secret0123456789abcdefghijKLMNOP', principal: 'project-7' } as const

export function credentials (): MemoryCredentialStore {
  return new MemoryCredentialStore([
    [DOC.accessKeyId, { secretAccessKey: DOC.secretAccessKey, principal: 'doc' }],
    [KEY.accessKeyId, { secretAccessKey: KEY.secretAccessKey, principal: KEY.principal }]
  ])
}

export interface Captured extends S3Request {
  /** The body as the SDK wrote it, one buffer per write. */
  body: Buffer[]
}

/** The part of the SDK's HttpRequest that reaches the wire. */
interface WireRequest {
  method: string
  path: string
  query: Record<string, string | Array<string | null> | null | undefined>
  headers: Record<string, string>
  body?: unknown
}

function escapeQuery (text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

/** The request line the SDK's node:http handler would send. */
function rawUrlOf (request: WireRequest): string {
  const pairs: string[] = []
  for (const name of Object.keys(request.query).sort()) {
    const value = request.query[name]
    for (const v of Array.isArray(value) ? value : [value]) pairs.push(v === null || v === undefined ? escapeQuery(name) : `${escapeQuery(name)}=${escapeQuery(v)}`)
  }
  return request.path + (pairs.length > 0 ? '?' + pairs.join('&') : '')
}

async function bodyOf (body: unknown): Promise<Buffer[]> {
  if (body === undefined || body === null) return []
  if (typeof body === 'string') return [Buffer.from(body)]
  if (body instanceof Uint8Array) return [Buffer.from(body)]
  const parts: Buffer[] = []
  for await (const part of body as AsyncIterable<Uint8Array | string>) parts.push(Buffer.from(part))
  return parts
}

/**
 * The real @aws-sdk/client-s3 with a request handler that records what it
 * would put on the wire instead of sending it, and answers 200.
 */
export function capturingClient (config: Partial<S3ClientConfig> = {}): { client: S3Client, captured: Captured[] } {
  const captured: Captured[] = []
  const requestHandler = {
    async handle (request: WireRequest) {
      const headers: IncomingHttpHeaders = {}
      for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value
      captured.push({ method: request.method, rawUrl: rawUrlOf(request), headers, body: await bodyOf(request.body) })
      return { response: { statusCode: 200, headers: { etag: '"0"' }, body: Readable.from([]) } }
    },
    updateHttpClientConfig () {},
    httpHandlerConfigs () { return {} }
  }
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: 'http://127.0.0.1:9000',
    forcePathStyle: true,
    credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey },
    requestHandler,
    ...config
  })
  return { client, captured }
}

/** The one request `run` makes through a capturing client. */
export async function captureOne (run: (client: S3Client) => Promise<unknown>, config: Partial<S3ClientConfig> = {}): Promise<Captured> {
  const { client, captured } = capturingClient(config)
  await run(client)
  if (captured.length !== 1) throw new Error(`expected one request, got ${captured.length}`)
  return captured[0]!
}

/** A presigned URL as the request a plain HTTP client would make with it. */
export function requestFromUrl (method: string, url: string, headers: IncomingHttpHeaders = {}): S3Request {
  const parsed = new URL(url)
  return { method, rawUrl: parsed.pathname + parsed.search, headers: { host: parsed.host, ...headers } }
}

export async function * reads (buffers: readonly Buffer[]): AsyncGenerator<Buffer> {
  for (const buffer of buffers) yield buffer
}

/** Cuts `data` at the given offsets. */
export function cut (data: Buffer, offsets: readonly number[]): Buffer[] {
  const points = [0, ...offsets.filter((o) => o > 0 && o < data.length).sort((a, b) => a - b), data.length]
  const out: Buffer[] = []
  for (let i = 1; i < points.length; i++) out.push(data.subarray(points[i - 1], points[i]))
  return out
}

export function everyBytes (data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < data.length; i += size) out.push(data.subarray(i, i + size))
  return out
}

/** A copy of `data` with one bit of byte `index` flipped. */
export function flipBit (data: Buffer, index: number): Buffer {
  const copy = Buffer.from(data)
  copy[index] = copy[index]! ^ 1
  return copy
}

export async function drain (payload: PayloadStream): Promise<{ data: Buffer, result: PayloadResult }> {
  const parts: Buffer[] = []
  for await (const part of payload.body) parts.push(Buffer.from(part))
  return { data: Buffer.concat(parts), result: payload.result() }
}

export async function authenticated (request: S3Request, now?: () => Date): Promise<AuthContext> {
  const auth = await authenticate(request, { credentials: credentials(), ...(now === undefined ? {} : { now }) })
  if (auth === undefined) throw new Error('expected a signed request')
  return auth
}

/** A deterministic PRNG for property-style tests (mulberry32). */
export function prng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Signs a request the way the official SDK does (@smithy/signature-v4), for
 * the payload modes the JS SDK never produces itself (signed aws-chunked).
 */
export async function sdkSign (input: { method: string, path: string, query?: Record<string, string>, headers: Record<string, string>, now: Date, secretAccessKey?: string, accessKeyId?: string }): Promise<S3Request> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: input.accessKeyId ?? KEY.accessKeyId, secretAccessKey: input.secretAccessKey ?? KEY.secretAccessKey },
    region: 'us-east-1',
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false
  })
  const request = { method: input.method, protocol: 'http:', hostname: '127.0.0.1', port: 9000, path: input.path, query: input.query ?? {}, headers: { host: '127.0.0.1:9000', ...input.headers } }
  const signed = await signer.sign(request, { signingDate: input.now })
  const headers: IncomingHttpHeaders = {}
  for (const [name, value] of Object.entries(signed.headers)) headers[name.toLowerCase()] = value
  return { method: signed.method, rawUrl: rawUrlOf(signed as WireRequest), headers }
}

export function seedSignatureOf (request: S3Request): string {
  return /Signature=([0-9a-f]{64})/.exec(String(request.headers.authorization))![1]!
}

const mac = (key: Buffer | string, text: string): Buffer => createHmac('sha256', key).update(text).digest()

/** The SigV4 signing key for a `date/region/service/aws4_request` scope, from the spec. */
export function signingKeyOf (secretAccessKey: string, scope: string): Buffer {
  const [day, region, service] = scope.split('/') as [string, string, string]
  return mac(mac(mac(mac('AWS4' + secretAccessKey, day), region), service), 'aws4_request')
}

/** Signs a hand-written canonical request, for shapes no SDK produces any more. */
export function signCanonical (secretAccessKey: string, scope: string, amzDate: string, canonical: string): string {
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n')
  return mac(signingKeyOf(secretAccessKey, scope), stringToSign).toString('hex')
}

/**
 * Frames aws-chunked bodies with chunk signatures and signed trailers,
 * written from the AWS documentation rather than with the code under test;
 * the doc vectors pin it. Chunks are produced one by one so that large
 * bodies can be generated without holding them.
 */
export class ChunkSigner {
  readonly #key: Buffer
  #previous: string

  constructor (readonly input: { seedSignature: string, secretAccessKey: string, date: string, scope: string }) {
    this.#key = signingKeyOf(input.secretAccessKey, input.scope)
    this.#previous = input.seedSignature
  }

  /** The chunk header line for `data`; the caller sends data and CRLF after it (nothing after the empty final chunk). */
  header (data: Buffer): Buffer {
    const hash = createHash('sha256').update(data).digest('hex')
    this.#previous = mac(this.#key, ['AWS4-HMAC-SHA256-PAYLOAD', this.input.date, this.input.scope, this.#previous, EMPTY_SHA256, hash].join('\n')).toString('hex')
    return Buffer.from(`${data.length.toString(16)};chunk-signature=${this.#previous}\r\n`)
  }

  /** What follows the final chunk: the bare CRLF, or the signed trailer. */
  end (trailer?: Array<[string, string]>): Buffer {
    if (trailer === undefined) return Buffer.from('\r\n')
    const canonical = trailer.map(([name, value]) => `${name}:${value}\n`).join('')
    const hash = createHash('sha256').update(canonical).digest('hex')
    const signature = mac(this.#key, ['AWS4-HMAC-SHA256-TRAILER', this.input.date, this.input.scope, this.#previous, hash].join('\n')).toString('hex')
    return Buffer.from(trailer.map(([name, value]) => `${name}:${value}\r\n`).join('') + `x-amz-trailer-signature:${signature}\r\n\r\n`)
  }
}

const EMPTY_SHA256 = createHash('sha256').update('').digest('hex')

export function signedChunkedBody (input: {
  data: Buffer
  chunkSize: number
  seedSignature: string
  secretAccessKey: string
  date: string
  scope: string
  trailer?: Array<[string, string]>
}): Buffer {
  const signer = new ChunkSigner(input)
  const parts: Buffer[] = []
  for (let i = 0; i < input.data.length; i += input.chunkSize) {
    const piece = input.data.subarray(i, i + input.chunkSize)
    parts.push(signer.header(piece), piece, Buffer.from('\r\n'))
  }
  parts.push(signer.header(Buffer.alloc(0)), signer.end(input.trailer))
  return Buffer.concat(parts)
}

/** STREAMING-UNSIGNED-PAYLOAD-TRAILER framing as the JS SDK writes it. */
export function unsignedChunkedBody (data: Buffer, chunkSize: number, trailer: Array<[string, string]>): Buffer {
  const parts: Buffer[] = []
  for (let i = 0; i < data.length; i += chunkSize) {
    const piece = data.subarray(i, i + chunkSize)
    parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'))
  }
  parts.push(Buffer.from('0\r\n'))
  for (const [name, value] of trailer) parts.push(Buffer.from(`${name}:${value}\r\n`))
  parts.push(Buffer.from('\r\n'))
  return Buffer.concat(parts)
}
