import { createHash } from 'node:crypto'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { Sha256 } from '@aws-crypto/sha256-js'
import { SignatureV4 } from '@smithy/signature-v4'
import type { RunningAllInOne } from '../helpers/all-in-one.ts'

/**
 * Requests no SDK would send (tampered chunk signatures, cut bodies,
 * malformed XML), signed the way the SDK signs (@smithy/signature-v4) and
 * sent with node:http, so the test controls every byte.
 */

export interface RawResponse {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

export interface RawRequest {
  method: string
  /** The path as it goes on the wire (already percent-encoded). */
  path: string
  query?: Record<string, string>
  headers?: Record<string, string>
  /** A plain body; its sha256 is signed unless `x-amz-content-sha256` is among the headers. */
  body?: Buffer
  /** Sign with these instead of the cluster's key pair. */
  accessKeyId?: string
  secretAccessKey?: string
}

/** RFC 3986 encoding, as SigV4 canonical queries use it. */
function escapeQuery (text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())
}

function queryString (query: Record<string, string>): string {
  const pairs = Object.keys(query).sort().map((name) => query[name] === '' ? escapeQuery(name) : `${escapeQuery(name)}=${escapeQuery(query[name]!)}`)
  return pairs.length === 0 ? '' : `?${pairs.join('&')}`
}

export interface SignedRequest {
  method: string
  /** Path and query as they go on the request line. */
  url: string
  headers: Record<string, string>
  /** The request signature; chunk signatures chain on it. */
  seedSignature: string
  /** `20130524T000000Z` and `20130524/us-east-1/s3/aws4_request`, for chunk signing. */
  date: string
  scope: string
}

export async function signRequest (cluster: RunningAllInOne, input: RawRequest): Promise<SignedRequest> {
  const secretAccessKey = input.secretAccessKey ?? cluster.secretAccessKey
  const signer = new SignatureV4({
    credentials: { accessKeyId: input.accessKeyId ?? cluster.accessKeyId, secretAccessKey },
    region: cluster.region,
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
    applyChecksum: false
  })
  const host = new URL(cluster.endpoint).host
  const headers: Record<string, string> = { host, ...input.headers }
  if (!Object.keys(headers).some((name) => name.toLowerCase() === 'x-amz-content-sha256')) {
    headers['x-amz-content-sha256'] = createHash('sha256').update(input.body ?? Buffer.alloc(0)).digest('hex')
  }
  if (input.body !== undefined && headers['content-length'] === undefined) headers['content-length'] = String(input.body.length)
  const signed = await signer.sign({ method: input.method, protocol: 'http:', hostname: '127.0.0.1', path: input.path, query: input.query ?? {}, headers })
  const authorization = String(signed.headers.authorization)
  const date = String(signed.headers['x-amz-date'])
  return {
    method: input.method,
    url: input.path + queryString(input.query ?? {}),
    headers: signed.headers as Record<string, string>,
    seedSignature: /Signature=([0-9a-f]{64})/.exec(authorization)![1]!,
    date,
    scope: `${date.slice(0, 8)}/${cluster.region}/s3/aws4_request`
  }
}

/** Sends a request line, headers and body pieces; resolves with the whole response. */
export async function send (cluster: RunningAllInOne, request: { method: string, url: string, headers: Record<string, string> }, body: readonly Buffer[] = []):
Promise<RawResponse> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest(`${cluster.endpoint}${request.url}`, { method: request.method, headers: request.headers, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.on('error', reject)
    for (const piece of body) req.write(piece)
    req.end()
  })
}

/** Signs with the cluster's key (or the one given) and sends. */
export async function signedSend (cluster: RunningAllInOne, input: RawRequest): Promise<RawResponse> {
  const signed = await signRequest(cluster, input)
  return await send(cluster, signed, input.body === undefined ? [] : [input.body])
}

/** The `<Code>` of an S3 error body. */
export function errorCode (response: RawResponse): string | undefined {
  return /<Code>([^<]*)<\/Code>/.exec(response.body)?.[1]
}

/** Every `<name>` element's text in an XML body, in order. */
export function elements (xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([^<]*)</${name}>`, 'g'))].map((m) => m[1]!)
}
