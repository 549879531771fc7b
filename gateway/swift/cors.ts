import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyReply } from 'fastify'
import { StorageError, type Namespace } from '../../storage/index.ts'
import { SwiftError } from './errors.ts'
import type { SwiftTarget } from './target.ts'

/** Container metadata keys (stored neutral, `meta-<name>`) that configure CORS, as Swift's X-Container-Meta-Access-Control-*. */
const ALLOW_ORIGIN = 'meta-access-control-allow-origin'
const MAX_AGE = 'meta-access-control-max-age'
const EXPOSE_HEADERS = 'meta-access-control-expose-headers'
const DEFAULT_EXPOSED = ['cache-control', 'content-language', 'content-type', 'content-length', 'expires', 'last-modified', 'pragma', 'etag',
  'x-timestamp', 'x-trans-id', 'x-openstack-request-id', 'x-object-manifest', 'x-static-large-object', 'x-delete-at']
const METHODS = 'HEAD, GET, PUT, POST, COPY, OPTIONS, DELETE'

/**
 * CORS policy. A container that sets X-Container-Meta-Access-Control-Allow-Origin
 * (space-separated origins, or `*`) admits exactly those origins. Everything
 * else (the account, containers without the setting) admits any origin:
 * Swift requests carry their token in a header, never in a cookie, so a page
 * on another origin can act only with a token it was given, and refusing it
 * would protect nothing. Preflights are answered without a token, as
 * browsers send none.
 */
async function allowedOrigins (namespace: Namespace, target: SwiftTarget): Promise<{ origins: string[] | undefined, metadata: Record<string, string> }> {
  if (target.container === undefined) return { origins: undefined, metadata: {} }
  try {
    const { metadata } = await namespace.headContainer(target.account, target.container)
    const setting = metadata[ALLOW_ORIGIN]
    return { origins: setting === undefined ? undefined : setting.split(/\s+/).filter((o) => o !== ''), metadata }
  } catch (err) {
    if (err instanceof StorageError && (err.code === 'NoSuchContainer' || err.code === 'NotFound')) return { origins: undefined, metadata: {} }
    throw err
  }
}

function admits (origins: string[] | undefined, origin: string): boolean {
  return origins === undefined || origins.includes('*') || origins.includes(origin)
}

/** OPTIONS: a CORS preflight, 200 with the grant or 401 when the origin is not admitted, as Swift answers. */
export async function preflight (namespace: Namespace, target: SwiftTarget, headers: IncomingHttpHeaders, reply: FastifyReply): Promise<void> {
  const origin = headers.origin
  const method = headers['access-control-request-method']
  if (typeof origin !== 'string' || typeof method !== 'string') {
    // Not a preflight: say what the resource allows.
    reply.header('allow', METHODS).header('content-length', '0').send()
    return
  }
  const { origins, metadata } = await allowedOrigins(namespace, target)
  if (!admits(origins, origin) || !METHODS.split(', ').includes(method.toUpperCase())) throw new SwiftError('Unauthorized')
  const requested = headers['access-control-request-headers']
  reply.header('access-control-allow-origin', origin)
    .header('access-control-allow-methods', METHODS)
    .header('access-control-max-age', metadata[MAX_AGE] ?? '3600')
    .header('vary', 'Origin')
  if (typeof requested === 'string') reply.header('access-control-allow-headers', requested)
  reply.header('allow', METHODS).header('content-length', '0').send()
}

/** CORS headers for an authenticated request that carries an Origin (none otherwise, and none for an origin not admitted). */
export async function corsHeaders (namespace: Namespace, target: SwiftTarget, headers: IncomingHttpHeaders): Promise<Record<string, string>> {
  const origin = headers.origin
  if (typeof origin !== 'string') return {}
  const { origins, metadata } = await allowedOrigins(namespace, target)
  if (!admits(origins, origin)) return {}
  const extra = (metadata[EXPOSE_HEADERS] ?? '').split(/[\s,]+/).filter((h) => h !== '')
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': [...DEFAULT_EXPOSED, ...extra].join(', '),
    vary: 'Origin'
  }
}
