import { randomBytes } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from '../../lib/logger.ts'
import type { Namespace } from '../../storage/index.ts'
import type { Principal, TokenService } from '../identity/index.ts'
import { OPENSTACK } from '../openstack/api-constraint.ts'
import { authorize, requireToken } from './access.ts'
import { corsHeaders, preflight } from './cors.ts'
import { renderSwiftError, SwiftError, toSwiftError } from './errors.ts'
import { sendInfo } from './info.ts'
import { operationFor } from './operations.ts'
import { parseTarget, type SwiftTarget } from './target.ts'
import { v1Auth, type SwiftLogin } from './v1-auth.ts'
import type { ObjectExpirer } from './expirer.ts'

export interface SwiftApiComponents {
  namespace: Namespace
  tokens: TokenService
  /** Password login for Swift's v1 auth (identity's, shared with Keystone). */
  login: SwiftLogin
  expirer: ObjectExpirer
  logger: Logger
}

/** Everything a Swift operation handler needs for one request. */
export interface SwiftContext {
  request: FastifyRequest
  reply: FastifyReply
  headers: IncomingHttpHeaders
  target: SwiftTarget
  principal: Principal
  namespace: Namespace
  expirer: ObjectExpirer
  logger: Logger
  /** Milliseconds; the clock X-Delete-At is judged by. */
  now: () => number
}

export type SwiftOperation = (ctx: SwiftContext) => Promise<void>

const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'COPY', 'OPTIONS']

/**
 * OpenStack Swift's object API under /v1/AUTH_<project>, its v1 auth
 * (/auth/v1.0) and capabilities (/info), on the same Namespace as S3: a
 * project's containers are its S3 buckets. Routes carry the OpenStack
 * constraint, so AWS-signed requests to the same paths stay with S3.
 */
export function registerSwiftApi (app: FastifyInstance, components: SwiftApiComponents): void {
  const { namespace, tokens, expirer, logger } = components
  // Swift's server-side copy verb; fastify knows only the common methods until told.
  if (!app.supportedMethods.includes('COPY')) app.addHttpMethod('COPY')
  app.route({
    method: METHODS,
    url: '/v1/*',
    constraints: OPENSTACK,
    handler: async (request, reply) => await handle(request, reply, logger, async () => {
      const target = parseTarget(request.raw.url ?? '/')
      if (request.method === 'OPTIONS') {
        await preflight(namespace, target, request.headers, reply)
        return
      }
      const { principal } = await requireToken(request.headers, tokens)
      authorize(principal, target.projectId, request.method)
      const ctx: SwiftContext = { request, reply, headers: request.headers, target, principal, namespace, expirer, logger, now: Date.now }
      const operation = operationFor(request.method, target, request.headers['x-copy-from'] !== undefined)
      reply.headers(await corsHeaders(namespace, target, request.headers))
      await operation(ctx)
    })
  })
  app.route({
    method: 'GET',
    url: '/auth/v1.0',
    constraints: OPENSTACK,
    handler: async (request, reply) => await handle(request, reply, logger, async () => { await v1Auth(request, reply, components) })
  })
  app.route({
    method: 'GET',
    url: '/info',
    constraints: OPENSTACK,
    handler: async (request, reply) => await handle(request, reply, logger, async () => { sendInfo(reply) })
  })
}

/** Runs a handler with Swift's transaction id on the response and its errors rendered as Swift does. */
async function handle (request: FastifyRequest, reply: FastifyReply, logger: Logger, handler: () => Promise<void>): Promise<FastifyReply> {
  const transId = `tx${randomBytes(11).toString('hex')}-${Math.floor(Date.now() / 1000).toString(16).padStart(10, '0')}`
  reply.header('x-trans-id', transId).header('x-openstack-request-id', transId)
  try {
    await handler()
  } catch (err) {
    const error = toSwiftError(err)
    if (error.code === 'Internal') logger.error({ err, transId, url: request.raw.url }, 'swift request failed')
    else logger.debug({ code: error.code, transId, message: error.message }, 'swift request refused')
    if (reply.sent) {
      // Headers are out: the only honest signal left is a broken connection.
      request.raw.destroy()
      return reply
    }
    const rendered = renderSwiftError(error)
    reply.code(rendered.status)
    if (rendered.status === 401) reply.header('www-authenticate', 'Swift realm="ringstack"')
    if (request.method === 'HEAD' || rendered.body === '') reply.removeHeader('content-type').header('content-length', '0').send()
    else reply.type(rendered.type).send(rendered.body)
  }
  return reply
}
