import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from '../../lib/logger.ts'
import { VolumeError, type VolumeErrorCode, type VolumeService } from '../../storage/volume/index.ts'
import type { TokenService } from '../identity/index.ts'
import { OPENSTACK } from '../openstack/api-constraint.ts'
import { faultBody, HttpError, readJson, requireToken, respond } from '../openstack/http.ts'
import { objectField, optionalInt, stringField } from '../openstack/json-fields.ts'
import { GiB, snapshotView, volumeView, type VolumeAttachment } from './views.ts'

export interface VolumeApiComponents {
  volumes: VolumeService
  tokens: TokenService
  logger: Logger
  /** Which server a volume is attached to, from the compute controller: shown as Cinder's attachments, and it keeps the volume from deletion. */
  attachedTo?: (volumeId: string) => Promise<VolumeAttachment | undefined>
}

/** The one table from volume outcomes to HTTP statuses. */
const STATUS_OF: Record<VolumeErrorCode, number> = {
  InvalidArgument: 400,
  NotFound: 404,
  AlreadyExists: 409,
  InUse: 409,
  HasDependents: 409,
  Unavailable: 503
}

interface Params { project: string, id: string }

/**
 * Cinder's block-storage API v3 (the subset that maps onto ringstack
 * volumes) under /volume/v3/{project_id}: volumes, snapshots, clones
 * (a volume created from a snapshot, or from an image by `imageRef`), extend, and flatten as a
 * `ringstack-flatten` volume action. Flatten runs in the background; the
 * volume shows `flattening` with its progress until it is done.
 */
export function registerVolumeApi (app: FastifyInstance, components: VolumeApiComponents): void {
  const { volumes, tokens, logger } = components
  const attachedTo = components.attachedTo ?? (async () => undefined)
  const flattening = new Map<string, { done: number, total: number }>()
  const classify = (err: unknown): HttpError | undefined =>
    err instanceof VolumeError ? new HttpError(STATUS_OF[err.code], err.message, { cause: err }) : undefined

  const route = (method: 'GET' | 'POST' | 'DELETE', url: string,
    handler: (ctx: { request: FastifyRequest, reply: FastifyReply, project: string, params: Params }) => Promise<void>): void => {
    app.route({
      method,
      url: `/volume/v3/:project${url}`,
      constraints: OPENSTACK,
      handler: async (request, reply) => await respond(request, reply, logger, classify, faultBody, async () => {
        const params = request.params as Params
        const token = requireToken(request, tokens)
        if (token.principal.projectId !== params.project) throw new HttpError(403, `this token is scoped to project ${token.principal.projectId}`)
        await handler({ request, reply, project: params.project, params })
      })
    })
  }

  const show = async (project: string, ref: string): Promise<Record<string, unknown>> => {
    const volume = await volumes.getVolume(project, ref)
    const progress = flattening.get(volume.id)
    const attachment = await attachedTo(volume.id)
    // A stopped server's volumes hold no lease, yet they are Cinder's in-use.
    const status = progress !== undefined ? 'flattening' : attachment !== undefined ? 'in-use' : await volumes.volumeStatus(volume.id)
    return volumeView(volume, status, progress, attachment)
  }

  route('POST', '/volumes', async ({ request, reply, project }) => {
    const spec = objectField(await readJson(request), 'volume')
    const name = stringField(spec, 'name')
    const size = sizeOf(spec)
    const snapshot = spec.snapshot_id
    const image = spec.imageRef
    const created = typeof snapshot === 'string'
      ? await volumes.cloneVolume({ project, name, snapshot, size })
      : typeof image === 'string'
        ? await volumes.createVolumeFromImage({ project, name, image, size })
        : await volumes.createVolume({ project, name, size: required(size, 'size'), chunkSize: optionalInt(spec, 'ringstack:chunk_size') })
    reply.code(202).send({ volume: await show(project, created.id) })
  })
  for (const url of ['/volumes', '/volumes/detail']) {
    route('GET', url, async ({ reply, project }) => {
      reply.send({ volumes: await Promise.all((await volumes.listVolumes(project)).map(async (v) => await show(project, v.id))) })
    })
  }
  route('GET', '/volumes/:id', async ({ reply, project, params }) => {
    reply.send({ volume: await show(project, params.id) })
  })
  route('DELETE', '/volumes/:id', async ({ reply, project, params }) => {
    const volume = await volumes.getVolume(project, params.id)
    const attachment = await attachedTo(volume.id)
    if (attachment !== undefined) throw new HttpError(409, `volume ${volume.name} is attached to server ${attachment.serverId}; detach it or delete the server first`)
    await volumes.deleteVolume(project, volume.id)
    reply.code(202).send()
  })
  route('POST', '/volumes/:id/action', async ({ request, reply, project, params }) => {
    const body = await readJson(request)
    if ('os-extend' in body) {
      const spec = objectField(body, 'os-extend')
      const size = spec.new_size_bytes !== undefined ? optionalInt(spec, 'new_size_bytes') : gib(optionalInt(spec, 'new_size'))
      await volumes.extendVolume(project, params.id, required(size, 'new_size'))
      reply.code(202).send()
    } else if ('ringstack-flatten' in body) {
      const volume = await volumes.getVolume(project, params.id)
      if (flattening.has(volume.id)) throw new HttpError(409, `volume ${volume.name} is already being flattened`)
      const progress = { done: 0, total: 0 }
      flattening.set(volume.id, progress)
      try {
        // Answers once the lease is taken, so a refusal (in use) reaches the caller.
        const { finished } = await volumes.flattenVolume(project, volume.id, (done, total) => { progress.done = done; progress.total = total })
        finished.then(() => { logger.info({ volume: volume.id }, 'flatten finished') },
          (err: unknown) => { logger.warn({ err, volume: volume.id }, 'flatten failed') })
          .finally(() => flattening.delete(volume.id))
      } catch (err) {
        flattening.delete(volume.id)
        throw err
      }
      reply.code(202).send()
    } else {
      throw new HttpError(400, `unsupported volume action: ${Object.keys(body).join(', ') || '(none)'}`)
    }
  })

  route('POST', '/snapshots', async ({ request, reply, project }) => {
    const spec = objectField(await readJson(request), 'snapshot')
    const snapshot = await volumes.createSnapshot(project, stringField(spec, 'volume_id'), stringField(spec, 'name'))
    reply.code(202).send({ snapshot: snapshotView(snapshot) })
  })
  for (const url of ['/snapshots', '/snapshots/detail']) {
    route('GET', url, async ({ request, reply, project }) => {
      const volumeId = (request.query as Record<string, string | undefined>).volume_id
      reply.send({ snapshots: (await volumes.listSnapshots(project, volumeId)).map(snapshotView) })
    })
  }
  route('GET', '/snapshots/:id', async ({ reply, project, params }) => {
    reply.send({ snapshot: snapshotView(await volumes.getSnapshot(project, params.id)) })
  })
  route('DELETE', '/snapshots/:id', async ({ reply, project, params }) => {
    await volumes.deleteSnapshot(project, params.id)
    reply.code(202).send()
  })
}

function gib (n: number | undefined): number | undefined {
  return n === undefined ? undefined : n * GiB
}

/** Cinder's `size` is whole GiB; `ringstack:size_bytes` gives any multiple of 512 bytes. */
function sizeOf (spec: Record<string, unknown>): number | undefined {
  return optionalInt(spec, 'ringstack:size_bytes') ?? gib(optionalInt(spec, 'size'))
}

function required (value: number | undefined, name: string): number {
  if (value === undefined) throw new HttpError(400, `"${name}" is required`)
  return value
}
