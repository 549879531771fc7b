import type { FastifyReply, FastifyRequest } from 'fastify'
import { RingstackError } from '../../lib/errors.ts'
import type { Logger } from '../../lib/logger.ts'
import type { IssuedToken, TokenService } from '../identity/token-service.ts'

/** A refusal with its HTTP status; each API renders it in its own JSON shape. */
export class HttpError extends RingstackError {
  readonly status: number

  constructor (status: number, message: string, options?: ErrorOptions) {
    super(`Http${status}`, message, options)
    this.status = status
  }
}

/** Cinder and Nova name their error bodies by kind: `{ itemNotFound: { code, message } }`. */
const KIND_OF: Record<number, string> = {
  400: 'badRequest', 401: 'unauthorized', 403: 'forbidden', 404: 'itemNotFound', 409: 'conflict', 413: 'overLimit', 503: 'serviceUnavailable'
}

export function faultBody (status: number, message: string): unknown {
  return { [KIND_OF[status] ?? 'computeFault']: { code: status, message } }
}

const MAX_JSON_BYTES = 1024 * 1024

/** Request bodies are not parsed by fastify (S3 streams them); OpenStack bodies are small JSON documents. */
export async function readJson (request: FastifyRequest): Promise<Record<string, unknown>> {
  const body = await readJsonValue(request)
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, 'request body must be a JSON object')
  return body as Record<string, unknown>
}

/** Any JSON document (Glance's patches are arrays). */
export async function readJsonValue (request: FastifyRequest): Promise<unknown> {
  const parts: Buffer[] = []
  let size = 0
  for await (const part of request.raw as AsyncIterable<Buffer>) {
    size += part.length
    if (size > MAX_JSON_BYTES) throw new HttpError(413, `request body over ${MAX_JSON_BYTES} bytes`)
    parts.push(part)
  }
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8'))
  } catch {
    throw new HttpError(400, 'request body is not valid JSON')
  }
}

/** The caller's token (X-Auth-Token), or 401. */
export function requireToken (request: FastifyRequest, tokens: TokenService): IssuedToken {
  const header = request.headers['x-auth-token']
  const token = typeof header === 'string' ? tokens.verify(header) : undefined
  if (token === undefined) throw new HttpError(401, 'The request you have made requires authentication.')
  return token
}

/**
 * Runs a handler, turning its errors into `render(status, message)` JSON:
 * HttpErrors and whatever `classify` recognises keep their status,
 * anything else is a logged 500.
 */
export async function respond (request: FastifyRequest, reply: FastifyReply, logger: Logger,
  classify: (err: unknown) => HttpError | undefined, render: (status: number, message: string) => unknown,
  handler: () => Promise<void>): Promise<FastifyReply> {
  try {
    await handler()
  } catch (err) {
    const known = err instanceof HttpError ? err : classify(err)
    if (known === undefined) logger.error({ err, url: request.url }, 'request failed')
    const status = known?.status ?? 500
    reply.code(status).type('application/json').send(render(status, known?.message ?? 'internal error'))
  }
  return reply
}
