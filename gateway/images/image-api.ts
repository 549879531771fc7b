import { Readable } from 'node:stream'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CORE_FIELDS, ImageError, type ImageErrorCode, type ImageService, type ImageSpec } from '../../compute/images/index.ts'
import type { Logger } from '../../lib/logger.ts'
import type { TokenService } from '../identity/index.ts'
import { OPENSTACK } from '../openstack/api-constraint.ts'
import { HttpError, readJson, readJsonValue, requireToken, respond } from '../openstack/http.ts'
import { parseRange, resolveRange } from '../http/range.ts'
import { imageView } from './views.ts'

export interface ImageApiComponents {
  images: ImageService
  tokens: TokenService
  logger: Logger
}

/** The one table from image outcomes to HTTP statuses. */
const STATUS_OF: Record<ImageErrorCode, number> = {
  InvalidArgument: 400,
  BadData: 400,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  InUse: 409,
  TooLarge: 413,
  Unavailable: 503
}

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Request Entity Too Large',
  415: 'Unsupported Media Type', 416: 'Requested Range Not Satisfiable', 500: 'Internal Server Error', 503: 'Service Unavailable'
}

const PATCH_TYPE = 'application/openstack-images-v2.1-json-patch'

interface Params { id: string }

/**
 * Glance's image API v2 (the subset ringstack images have) under
 * /image/v2, as devstack lays it out: create, upload (streamed), download
 * (streamed, with Range), list, show, patch, delete. Errors are webob's
 * JSON bodies, as Glance sends them.
 */
export function registerImageApi (app: FastifyInstance, components: ImageApiComponents): void {
  const { images, tokens, logger } = components
  const classify = (err: unknown): HttpError | undefined =>
    err instanceof ImageError ? new HttpError(STATUS_OF[err.code], err.message, { cause: err }) : undefined
  const render = (status: number, message: string): unknown => ({ message, code: `${status} ${TITLES[status] ?? 'Error'}`, title: TITLES[status] ?? 'Error' })

  const route = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string,
    handler: (ctx: { request: FastifyRequest, reply: FastifyReply, project: string, params: Params }) => Promise<void>): void => {
    app.route({
      method,
      url: `/image/v2${url}`,
      constraints: OPENSTACK,
      handler: async (request, reply) => await respond(request, reply, logger, classify, render, async () => {
        const token = requireToken(request, tokens)
        await handler({ request, reply, project: token.principal.projectId, params: request.params as Params })
      })
    })
  }

  app.route({
    method: 'GET',
    url: '/image',
    constraints: OPENSTACK,
    handler: async (request, reply) => {
      const href = `${request.protocol}://${request.headers.host ?? 'localhost'}/image/v2/`
      reply.code(300).send({ versions: [{ id: 'v2.9', status: 'CURRENT', links: [{ rel: 'self', href }] }] })
    }
  })

  route('POST', '/images', async ({ request, reply, project }) => {
    const image = await images.create(project, specOf(await readJson(request)))
    reply.code(201).header('location', `/v2/images/${image.id}`).send(imageView(image))
  })
  route('GET', '/images', async ({ request, reply, project }) => {
    const query = request.query as Record<string, string | undefined>
    const found = (await images.list(project)).filter((i) =>
      (query.name === undefined || i.name === query.name) &&
      (query.visibility === undefined || i.visibility === query.visibility) &&
      (query.status === undefined || i.status === query.status))
    reply.send({ images: found.map(imageView), first: '/v2/images', schema: '/v2/schemas/images' })
  })
  route('GET', '/images/:id', async ({ reply, project, params }) => {
    reply.send(imageView(await images.get(project, params.id)))
  })
  route('PATCH', '/images/:id', async ({ request, reply, project, params }) => {
    const type = request.headers['content-type']?.split(';')[0]?.trim()
    if (type !== PATCH_TYPE) throw new HttpError(415, `Unsupported Content-Type ${type ?? '(none)'}: use ${PATCH_TYPE}`)
    reply.send(imageView(await images.update(project, params.id, await readJsonValue(request))))
  })
  route('DELETE', '/images/:id', async ({ reply, project, params }) => {
    await images.delete(project, params.id)
    reply.code(204).send()
  })
  route('PUT', '/images/:id/file', async ({ request, reply, project, params }) => {
    const type = request.headers['content-type']?.split(';')[0]?.trim()
    if (type !== undefined && type !== 'application/octet-stream') throw new HttpError(415, `Unsupported Content-Type ${type}: use application/octet-stream`)
    // Not destroyed on early exit: a refused upload is drained, so the client reads the refusal rather than a reset.
    const body = request.raw.iterator({ destroyOnReturn: false })
    try {
      await images.upload(project, params.id, body)
    } catch (err) {
      await drain(body)
      throw err
    }
    reply.code(204).send()
  })
  route('GET', '/images/:id/file', async ({ request, reply, project, params }) => {
    const image = await images.get(project, params.id)
    if (image.status !== 'active' || image.size === null) {
      reply.code(204).send()
      return
    }
    const requested = parseRange(request.headers.range)
    const span = requested === undefined ? undefined : resolveRange(requested, image.size)
    if (requested !== undefined && span === undefined) {
      reply.header('content-range', `bytes */${image.size}`)
      throw new HttpError(416, `Requested range not satisfiable: image ${image.id} has ${image.size} bytes`)
    }
    const body = Readable.from(await images.download(project, image.id, span))
    reply.header('content-type', 'application/octet-stream')
    if (span === undefined) {
      reply.header('content-length', image.size).header('content-md5', image.checksum)
    } else {
      reply.code(206).header('content-length', span.length)
        .header('content-range', `bytes ${span.offset}-${span.offset + span.length - 1}/${image.size}`)
    }
    reply.send(body)
  })
}

/** A create request: core attributes as given, any other key a custom property (Glance's additional properties). */
function specOf (body: Record<string, unknown>): ImageSpec {
  const spec: Record<string, unknown> = {}
  const properties: Record<string, string> = {}
  for (const [key, value] of Object.entries(body)) {
    if (CORE_FIELDS.has(key)) spec[key] = value
    else properties[key] = value as string
  }
  if (spec.id !== undefined && typeof spec.id !== 'string') throw new HttpError(400, '"id" must be a string')
  return { ...spec, properties } as ImageSpec
}

/** Reads what is left of a request body and discards it. */
async function drain (body: AsyncIterator<unknown>): Promise<void> {
  try {
    while ((await body.next()).done !== true);
  } catch {
    // The client went away: nothing left to read, nobody to answer.
  }
}
