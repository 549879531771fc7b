import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { ServerError, type ComputeController, type ServerErrorCode } from '../../compute/index.ts'
import type { Logger } from '../../lib/logger.ts'
import type { Principal, TokenService } from '../identity/index.ts'
import { OPENSTACK } from '../openstack/api-constraint.ts'
import { faultBody, HttpError, readJson, requireToken, respond } from '../openstack/http.ts'
import { objectField, optionalInt, optionalString, stringField } from '../openstack/json-fields.ts'
import { attachmentView, flavorView, hypervisorView, serverSummary, serverView } from './views.ts'

export interface ComputeApiComponents {
  compute: ComputeController
  tokens: TokenService
  logger: Logger
}

/** The one table from compute outcomes to HTTP statuses. */
const STATUS_OF: Record<ServerErrorCode, number> = {
  InvalidArgument: 400,
  Forbidden: 403,
  NotFound: 404,
  Conflict: 409,
  InUse: 409,
  NoValidHost: 409,
  HostFailed: 500,
  Unavailable: 503
}

const PREFIX = '/compute/v2.1'

interface Params { id: string, volume: string }

interface Context {
  request: FastifyRequest
  reply: FastifyReply
  principal: Principal
  params: Params
  /** This API's URL as the client reached it, for links. */
  base: string
}

/**
 * Nova's compute API v2.1 (the subset ringstack servers have) under
 * /compute/v2.1, as devstack lays it out: flavors, servers (boot from an
 * image or a volume), the stop/start/reboot/console actions, volume
 * attachments, and the hypervisor list, plus a ringstack extension to
 * register and remove compute hosts. Errors are Nova's `{ <kind>: { code,
 * message } }` bodies.
 */
export function registerComputeApi (app: FastifyInstance, components: ComputeApiComponents): void {
  const { compute, tokens, logger } = components
  const { flavors, servers, hypervisors } = compute
  const classify = (err: unknown): HttpError | undefined =>
    err instanceof ServerError ? new HttpError(STATUS_OF[err.code], err.message, { cause: err }) : undefined

  const route = (method: 'GET' | 'POST' | 'DELETE', url: string, handler: (ctx: Context) => Promise<void>): void => {
    app.route({
      method,
      url: `${PREFIX}${url}`,
      constraints: OPENSTACK,
      handler: async (request, reply) => await respond(request, reply, logger, classify, faultBody, async () => {
        const { principal } = requireToken(request, tokens)
        const base = `${request.protocol}://${request.headers.host ?? 'localhost'}${PREFIX}`
        await handler({ request, reply, principal, params: request.params as Params, base })
      })
    })
  }
  const admin = (principal: Principal): void => {
    if (!principal.roles.includes('admin')) throw new HttpError(403, 'Policy does not allow this: admin only.')
  }

  // Version discovery asks the catalog's URL with and without the slash.
  for (const url of ['', '/']) {
    route('GET', url, async ({ reply, base }) => {
      reply.send({ version: { id: 'v2.1', status: 'CURRENT', version: '2.1', min_version: '2.1', updated: '2013-07-23T11:33:21Z', links: [{ rel: 'self', href: `${base}/` }] } })
    })
  }

  route('GET', '/flavors', async ({ reply, base }) => {
    reply.send({ flavors: (await flavors.list()).map((f) => ({ id: f.id, name: f.name, links: flavorView(f, base).links })) })
  })
  route('GET', '/flavors/detail', async ({ reply, base }) => {
    reply.send({ flavors: (await flavors.list()).map((f) => flavorView(f, base)) })
  })
  route('GET', '/flavors/:id', async ({ reply, params, base }) => {
    reply.send({ flavor: flavorView(await flavors.get(params.id), base) })
  })
  route('POST', '/flavors', async ({ request, reply, principal, base }) => {
    admin(principal)
    const spec = objectField(await readJson(request), 'flavor')
    const flavor = await flavors.create({
      name: stringField(spec, 'name'),
      vcpus: required(optionalInt(spec, 'vcpus'), 'vcpus'),
      ramMiB: required(optionalInt(spec, 'ram'), 'ram'),
      diskGiB: optionalInt(spec, 'disk', 0) ?? 0,
      id: optionalString(spec, 'id')
    })
    reply.send({ flavor: flavorView(flavor, base) })
  })
  route('DELETE', '/flavors/:id', async ({ reply, principal, params }) => {
    admin(principal)
    await flavors.delete(params.id)
    reply.code(202).send()
  })

  route('POST', '/servers', async ({ request, reply, principal, base }) => {
    const spec = objectField(await readJson(request), 'server')
    const boot = bootSource(spec)
    const server = await servers.create({
      project: principal.projectId,
      userId: principal.userId,
      name: stringField(spec, 'name'),
      flavor: lastSegment(stringField(spec, 'flavorRef')),
      ...boot,
      metadata: metadataOf(spec)
    })
    reply.code(202).header('location', `${base}/servers/${server.id}`).send({ server: serverView(server, base) })
  })
  route('GET', '/servers', async ({ request, reply, principal, base }) => {
    const found = filtered(await servers.records(principal.projectId), request)
    reply.send({ servers: found.map((s) => serverSummary(s, base)) })
  })
  route('GET', '/servers/detail', async ({ request, reply, principal, base }) => {
    const found = filtered(await servers.list(principal.projectId), request)
    reply.send({ servers: found.map((s) => serverView(s, base)) })
  })
  route('GET', '/servers/:id', async ({ reply, principal, params, base }) => {
    reply.send({ server: serverView(await servers.get(principal.projectId, params.id), base) })
  })
  route('DELETE', '/servers/:id', async ({ reply, principal, params }) => {
    await servers.delete(principal.projectId, params.id)
    reply.code(204).send()
  })
  route('POST', '/servers/:id/action', async ({ request, reply, principal, params }) => {
    const body = await readJson(request)
    const project = principal.projectId
    if ('os-stop' in body) await servers.stop(project, params.id)
    else if ('os-start' in body) await servers.start(project, params.id)
    else if ('reboot' in body) await servers.reboot(project, params.id)
    else if ('os-getConsoleOutput' in body) {
      const lines = optionalInt(objectField(body, 'os-getConsoleOutput'), 'length')
      reply.send({ output: await servers.console(project, params.id, lines) })
      return
    } else {
      throw new HttpError(400, `unsupported server action: ${Object.keys(body).join(', ') || '(none)'}`)
    }
    reply.code(202).send()
  })

  route('GET', '/servers/:id/os-volume_attachments', async ({ reply, principal, params }) => {
    const server = await servers.get(principal.projectId, params.id)
    reply.send({ volumeAttachments: server.attachments.map((a) => attachmentView(server.id, a)) })
  })
  route('GET', '/servers/:id/os-volume_attachments/:volume', async ({ reply, principal, params }) => {
    const server = await servers.get(principal.projectId, params.id)
    const attachment = server.attachments.find((a) => a.volumeId === params.volume)
    if (attachment === undefined) throw new HttpError(404, `volume ${params.volume} is not attached to server ${server.id}`)
    reply.send({ volumeAttachment: attachmentView(server.id, attachment) })
  })
  route('POST', '/servers/:id/os-volume_attachments', async ({ request, reply, principal, params }) => {
    const spec = objectField(await readJson(request), 'volumeAttachment')
    const attachment = await servers.attach(principal.projectId, params.id, stringField(spec, 'volumeId'))
    reply.send({ volumeAttachment: attachmentView(params.id, attachment) })
  })
  route('DELETE', '/servers/:id/os-volume_attachments/:volume', async ({ reply, principal, params }) => {
    await servers.detach(principal.projectId, params.id, params.volume)
    reply.code(202).send()
  })

  for (const url of ['/os-hypervisors', '/os-hypervisors/detail']) {
    route('GET', url, async ({ reply, principal }) => {
      admin(principal)
      reply.send({ hypervisors: (await hypervisors.survey()).map(hypervisorView) })
    })
  }
  // Not in Nova (its hosts register themselves through the message bus): how an operator adds a compute agent.
  route('POST', '/os-hypervisors', async ({ request, reply, principal }) => {
    admin(principal)
    const spec = objectField(await readJson(request), 'hypervisor')
    const record = await hypervisors.add(stringField(spec, 'name'), stringField(spec, 'address'))
    const view = (await hypervisors.survey()).find((h) => h.record.name === record.name) ?? { record }
    reply.send({ hypervisor: hypervisorView(view) })
  })
  route('DELETE', '/os-hypervisors/:id', async ({ reply, principal, params }) => {
    admin(principal)
    const placed = (await servers.list(undefined)).filter((s) => s.host === params.id)
    if (placed.length > 0) throw new HttpError(409, `hypervisor ${params.id} still has ${placed.length} server(s); delete them first`)
    await hypervisors.remove(params.id)
    reply.code(202).send()
  })
}

/** imageRef, or a block_device_mapping_v2 whose boot entry (boot_index 0) is a volume or an image. */
function bootSource (spec: Record<string, unknown>): { image?: string, volume?: string } {
  const mappings = spec.block_device_mapping_v2
  if (mappings !== undefined) {
    if (!Array.isArray(mappings)) throw new HttpError(400, '"block_device_mapping_v2" must be a list')
    const boot = (mappings as Array<Record<string, unknown>>).find((m) => String(m.boot_index) === '0')
    if (boot === undefined || typeof boot.uuid !== 'string') throw new HttpError(400, 'block_device_mapping_v2 needs a boot_index 0 entry with a uuid')
    if (mappings.length > 1) throw new HttpError(400, 'only the boot device may be mapped at create; attach data volumes afterwards')
    if (boot.source_type === 'volume') return { volume: boot.uuid }
    if (boot.source_type === 'image') return { image: boot.uuid }
    throw new HttpError(400, `block_device_mapping_v2 source_type ${String(boot.source_type)} is not supported (volume or image)`)
  }
  const image = spec.imageRef
  if (typeof image !== 'string' || image === '') throw new HttpError(400, 'a server needs "imageRef" or a block_device_mapping_v2 boot volume')
  return { image: lastSegment(image) }
}

function metadataOf (spec: Record<string, unknown>): Record<string, string> {
  if (spec.metadata === undefined) return {}
  const metadata = objectField(spec, 'metadata')
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string' || key.length > 255 || value.length > 255) throw new HttpError(400, `metadata ${key}: keys and values are strings of at most 255 characters`)
  }
  return metadata as Record<string, string>
}

/** Nova accepts refs as ids or as links to them. */
function lastSegment (ref: string): string {
  return ref.replace(/\/+$/, '').split('/').at(-1)!
}

function filtered<T extends { name: string, status: string }> (servers: T[], request: FastifyRequest): T[] {
  const query = request.query as Record<string, string | undefined>
  return servers.filter((s) => (query.name === undefined || s.name === query.name) && (query.status === undefined || s.status === query.status))
}

function required (value: number | undefined, name: string): number {
  if (value === undefined) throw new HttpError(400, `"${name}" is required`)
  return value
}
