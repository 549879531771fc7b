import { randomBytes } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from '../../lib/logger.ts'
import type { Namespace } from '../../storage/index.ts'
import { parseTarget, type S3Target } from './addressing.ts'
import { authenticate, type AuthContext, type CredentialStore } from './auth/index.ts'
import { renderS3ErrorXml, S3Error, toS3Error } from './errors.ts'
import { operationFor } from './operations.ts'
import { fromStorageError } from './storage-errors.ts'

export interface S3ApiComponents {
  namespace: Namespace
  credentials: CredentialStore
  logger: Logger
}

export interface S3ApiOptions {
  /** Virtual-host style addressing for `<bucket>.<baseDomain>`; path style always works. */
  baseDomain?: string
  /** The region this endpoint reports (GetBucketLocation) and accepts in signatures. */
  region?: string
}

/** Everything an S3 operation handler needs for one request. */
export interface S3Context {
  request: FastifyRequest
  reply: FastifyReply
  target: S3Target
  auth: AuthContext
  /**
   * The request headers operations read: the request's own plus the x-amz-*
   * ones a presigned URL carries in its query (metadata, copy source,
   * storage class...), which S3 honours as if sent as headers.
   */
  headers: IncomingHttpHeaders
  /** The storage account of the caller's project: `AUTH_<project>`. */
  account: string
  requestId: string
  namespace: Namespace
  region: string
  logger: Logger
}

export type S3Operation = (ctx: S3Context) => Promise<void>

const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE'] as const

export function registerS3Api (app: FastifyInstance, components: S3ApiComponents, options: S3ApiOptions): void {
  const region = options.region ?? 'us-east-1'
  app.route({
    method: [...METHODS],
    url: '*',
    handler: async (request, reply) => {
      const requestId = startResponse(reply)
      let resource = request.raw.url ?? '/'
      try {
        const target = parseTarget(request.raw.url ?? '/', request.headers.host, options.baseDomain)
        resource = target.resource
        const auth = await authenticate({ method: request.method, rawUrl: request.raw.url ?? '/', headers: request.headers },
          { credentials: components.credentials, region })
        if (auth === undefined) throw new S3Error('AccessDenied', 'Anonymous access is not allowed')
        const headers: IncomingHttpHeaders = { ...auth.hoistedHeaders, ...request.headers }
        const operation = operationFor(request.method, target, headers)
        await operation({
          request, reply, target, auth, headers, account: `AUTH_${auth.principal}`, requestId,
          namespace: components.namespace, region, logger: components.logger
        })
      } catch (err) {
        sendError(request, reply, err, requestId, resource, components.logger)
      }
      return reply
    }
  })
  // Methods S3 has no operation for (PATCH, OPTIONS, TRACE...) reach no route.
  app.setNotFoundHandler(async (request, reply) => {
    const requestId = startResponse(reply)
    sendError(request, reply, new S3Error('NotImplemented', `The ${request.method} method is not implemented`), requestId, request.raw.url ?? '/', components.logger)
    return reply
  })
}

/**
 * For fastify's `frameworkErrors`: what fastify refuses before any route
 * runs (a path that does not percent-decode) gets an S3 error body and a
 * request id like everything else.
 */
export function s3FrameworkErrors (logger: Logger): (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => void {
  return (error, request, reply) => {
    const requestId = startResponse(reply)
    const refusal = error.code === 'FST_ERR_BAD_URL' ? new S3Error('InvalidURI') : new S3Error('InvalidRequest', error.message)
    sendError(request, reply, refusal, requestId, request.raw.url ?? '/', logger)
  }
}

/** Every response carries a request id, errors included. */
function startResponse (reply: FastifyReply): string {
  const requestId = randomBytes(8).toString('hex').toUpperCase()
  reply.header('x-amz-request-id', requestId)
  return requestId
}

function sendError (request: FastifyRequest, reply: FastifyReply, err: unknown, requestId: string, resource: string,
  logger: Logger): void {
  const error = toS3Error(fromStorageError(err))
  if (error.code === 'InternalError') logger.error({ err, requestId }, 'request failed')
  else logger.debug({ code: error.code, requestId, message: error.message }, 'request refused')
  if (reply.sent) {
    // Headers are out: the only honest signal left is a broken connection.
    request.raw.destroy()
    return
  }
  const withResource = error.resource === undefined ? new S3Error(error.code, error.message, { resource, details: { ...error.details } }) : error
  reply.code(error.status)
  if (request.method === 'HEAD' || error.status === 304) {
    reply.send()
    return
  }
  reply.type('application/xml').send(renderS3ErrorXml(withResource, requestId))
}
