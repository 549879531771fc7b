import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { ControlError, updateRecord, type ControlStore } from '../../lib/control-store/index.ts'
import type { Logger } from '../../lib/logger.ts'
import { KeyedLock } from '../../storage/keyed-lock.ts'
import { VolumeError, type VolumeRecord, type VolumeService } from '../../storage/volume/index.ts'
import type { ComputeAgentClient } from '../agent-client.ts'
import { ComputeError } from '../agent/errors.ts'
import { checkFwCfgName } from '../agent/spec-checks.ts'
import type { DiskSpec, InstanceInfo, InstanceSpec } from '../agent/types.ts'
import type { ImageRecord, ImageService } from '../images/index.ts'
import { ServerError, serverErrorOf } from './errors.ts'
import type { Flavors } from './flavors.ts'
import type { Hypervisors } from './hypervisors.ts'
import { keys, type FlavorRecord, type ServerAttachment, type ServerRecord, type VolumeClaim } from './records.ts'
import type { Scheduler } from './scheduler.ts'

export interface ServersComponents {
  control: ControlStore
  volumes: VolumeService
  images: ImageService
  flavors: Flavors
  hypervisors: Hypervisors
  scheduler: Scheduler
  logger: Logger
  /** Where agents reach this gateway's NBD target; undefined when it serves none (servers cannot boot then). */
  nbd: { host: string, port: number } | undefined
}

export interface CreateServer {
  project: string
  userId: string
  name: string
  /** Flavor id or name. */
  flavor: string
  /** Boot from a copy-on-write clone of this image (id)... */
  image?: string
  /** ...or from this existing volume (id or name), which the server does not own. */
  volume?: string
  /** Keys `fw_cfg:<name>` also reach the guest as QEMU fw_cfg entries. */
  metadata?: Record<string, string>
}

const GiB = 1024 ** 3
const FW_CFG_PREFIX = 'fw_cfg:'
/** A build another gateway ran (or this one, before a restart) is given up after this long without reaching the agent. */
const BUILD_GRACE_MS = 180_000
/** Status probes must not hold up a listing for long. */
const OBSERVE_MS = 3_000
/** After QEMU dies, the gateway's NBD export closes and gives the volume's lease back; a delete waits for it this long. */
const LEASE_RETURN_MS = 30_000

/**
 * Servers: their records in the control store, their QEMU on a compute
 * host's agent. Every read asks the agent what the instance really is
 * (running, stopped, crashed) and writes back what changed, so a QEMU that
 * died is never reported ACTIVE. Changes to one server run one at a time
 * in this gateway (the create's boot included).
 */
export class Servers {
  private readonly c: ServersComponents
  private readonly lock = new KeyedLock()
  /** Creates this gateway is booting right now. */
  private readonly building = new Set<string>()

  constructor (components: ServersComponents) {
    this.c = components
  }

  /**
   * Checks the request, places the server, clones its boot volume and
   * records it as BUILD; the boot on the agent runs on in the background
   * (ACTIVE, or ERROR with a fault). A refused create leaves nothing behind.
   */
  async create (request: CreateServer): Promise<ServerRecord> {
    const { project } = request
    if (request.name.trim() === '' || request.name.length > 255 || /[\x00-\x1f]/.test(request.name)) {
      throw new ServerError('InvalidArgument', 'server name must be 1..255 characters without control characters')
    }
    if ((request.image === undefined) === (request.volume === undefined)) {
      throw new ServerError('InvalidArgument', 'a server boots from either an image or a volume')
    }
    const metadata = request.metadata ?? {}
    const fwCfg = fwCfgOf(metadata)
    if (this.c.nbd === undefined) throw new ServerError('Unavailable', 'this gateway serves no NBD target, so no server can reach its disks')
    const flavor = await this.c.flavors.get(request.flavor).catch((err: unknown) => {
      throw err instanceof ServerError && err.code === 'NotFound' ? new ServerError('InvalidArgument', err.message) : err
    })
    const existing = request.volume === undefined ? undefined : await this.bootableVolume(project, request.volume)
    const image = request.image === undefined ? undefined : await this.bootableImage(project, request.image, flavor)
    const placement = this.c.scheduler.place(await this.c.hypervisors.survey(), flavor)
    const id = randomUUID()
    let created: VolumeRecord | undefined
    let server: ServerRecord
    try {
      if (image !== undefined) {
        created = await this.c.volumes.createVolumeFromImage({
          project, name: `boot-${id}`, image: image.id, size: flavor.diskGiB > 0 ? flavor.diskGiB * GiB : undefined
        })
      }
      const now = new Date().toISOString()
      const bootVolume = (created ?? existing)!.id
      server = {
        id, project, userId: request.userId, name: request.name, flavor, image: image?.id ?? null, host: placement.host,
        bootVolume, deleteBootVolume: created !== undefined, attachments: [], status: 'BUILD', fault: null, ssh: null,
        metadata, fwCfg, createdAt: now, updatedAt: now
      }
      await this.c.control.commit([{ key: keys.server(id), modRevision: 0 }, { key: keys.volumeClaim(bootVolume), modRevision: 0 }], [
        { type: 'put', key: keys.server(id), value: server },
        { type: 'put', key: keys.volumeClaim(bootVolume), value: { serverId: id, project } satisfies VolumeClaim }
      ])
    } catch (err) {
      placement.release()
      if (created !== undefined) await this.deleteVolume(project, created.id).catch((e: unknown) => this.c.logger.warn({ err: e, volume: created!.id }, 'boot volume of a refused create left behind'))
      if (err instanceof ControlError && err.code === 'Conflict') throw new ServerError('InUse', `volume ${request.volume ?? ''} was just attached to another server`)
      throw serverErrorOf(err)
    }
    this.building.add(id)
    void this.lock.run(id, async () => await this.build(server)).finally(() => {
      placement.release()
      this.building.delete(id)
    })
    this.c.logger.info({ server: id, name: server.name, host: server.host, flavor: flavor.name }, 'server created')
    return server
  }

  /** Servers of one project (all with undefined), each as its agent sees it now. */
  async list (project: string | undefined): Promise<ServerRecord[]> {
    const records = (await this.c.control.list<ServerRecord>(keys.servers)).map((r) => r.value)
    return await Promise.all(records.filter((s) => project === undefined || s.project === project).map(async (s) => await this.observe(s)))
  }

  /** Records only, without asking agents (a plain listing). */
  async records (project: string): Promise<ServerRecord[]> {
    return (await this.c.control.list<ServerRecord>(keys.servers)).map((r) => r.value).filter((s) => s.project === project)
  }

  async get (project: string, id: string): Promise<ServerRecord> {
    return await this.observe(await this.find(project, id))
  }

  /** Kills QEMU, deletes the boot volume if the server made it, forgets the server and its attachments (their volumes stay). */
  async delete (project: string, id: string): Promise<void> {
    await this.find(project, id)
    await this.lock.run(id, async () => {
      const server = await this.record(id)
      if (server === undefined) return
      const agent = await this.agentOf(server).catch(() => undefined)
      try {
        await agent?.deleteInstance(server.id)
      } catch (err) {
        if (!(err instanceof ComputeError && err.code === 'NotFound')) throw serverErrorOf(err)
      }
      if (server.deleteBootVolume) {
        try {
          await this.deleteVolume(server.project, server.bootVolume)
        } catch (err) {
          await this.settle(id, { status: 'ERROR', fault: fault(`deleting boot volume ${server.bootVolume} failed: ${(err as Error).message}`), ssh: null })
          throw serverErrorOf(err)
        }
      }
      await this.c.control.commit([], [
        { type: 'delete', key: keys.server(id) },
        ...[server.bootVolume, ...server.attachments.map((a) => a.volumeId)].map((v) => ({ type: 'delete' as const, key: keys.volumeClaim(v) }))
      ])
      this.c.logger.info({ server: id, host: server.host }, 'server deleted')
    })
  }

  /** ACPI power off (QEMU quits if the guest ignores it). */
  async stop (project: string, id: string): Promise<ServerRecord> {
    return await this.act(project, id, 'stop', ['ACTIVE'], async (agent) => await agent.stopInstance(id))
  }

  /** Boots a stopped (or crashed) server again; its attached volumes come back. */
  async start (project: string, id: string): Promise<ServerRecord> {
    return await this.act(project, id, 'start', ['SHUTOFF', 'ERROR'], async (agent, server) => await agent.startInstance(this.spec(server)))
  }

  /** A hard reboot: a reset while running, a boot otherwise (as Nova's HARD reboot). */
  async reboot (project: string, id: string): Promise<ServerRecord> {
    return await this.act(project, id, 'reboot', ['ACTIVE', 'SHUTOFF', 'ERROR'], async (agent, server) =>
      server.status === 'ACTIVE' ? await agent.rebootInstance(id) : await agent.startInstance(this.spec(server)))
  }

  /** The serial console's tail: the last `lines` lines, or all the agent keeps. */
  async console (project: string, id: string, lines?: number): Promise<string> {
    const server = await this.find(project, id)
    const text = await this.agentCall(server, async (agent) => (await agent.console(id)).toString('utf8'))
    return lines === undefined ? text : text.split('\n').slice(-lines - 1).join('\n')
  }

  /** Hot-plugs a volume of the project; a volume already attached to any server is refused. */
  async attach (project: string, id: string, volumeRef: string): Promise<ServerAttachment> {
    await this.find(project, id)
    return await this.lock.run(id, async () => {
      const server = await this.observe(await this.find(project, id))
      if (server.status !== 'ACTIVE') throw new ServerError('Conflict', `Cannot 'attach_volume' instance ${id} while it is in status ${server.status}`)
      const volume = await this.c.volumes.getVolume(project, volumeRef).catch((err: unknown) => { throw serverErrorOf(err, `Volume ${volumeRef} could not be found.`) })
      await this.refuseClaimed(volume)
      const attachment: ServerAttachment = { volumeId: volume.id, device: `/dev/vd${String.fromCharCode(98 + server.attachments.length)}` }
      const record = await this.c.control.get<ServerRecord>(keys.server(id))
      if (record === undefined) throw new ServerError('NotFound', `Instance ${id} could not be found.`)
      try {
        await this.c.control.commit([{ key: keys.volumeClaim(volume.id), modRevision: 0 }, { key: record.key, modRevision: record.modRevision }], [
          { type: 'put', key: keys.volumeClaim(volume.id), value: { serverId: id, project } satisfies VolumeClaim },
          { type: 'put', key: record.key, value: { ...record.value, attachments: [...record.value.attachments, attachment], updatedAt: new Date().toISOString() } }
        ])
      } catch (err) {
        if (err instanceof ControlError && err.code === 'Conflict') await this.refuseClaimed(volume)
        throw serverErrorOf(err)
      }
      try {
        await this.agentCall(server, async (agent) => await agent.attachVolume(id, this.disk(volume.id, false)))
      } catch (err) {
        await this.forget(id, volume.id)
        throw err
      }
      this.c.logger.info({ server: id, volume: volume.id }, 'volume attached')
      return attachment
    })
  }

  /** Hot-unplugs a data volume; resolves once QEMU let go of it (its lease is on its way back). */
  async detach (project: string, id: string, volumeId: string): Promise<void> {
    await this.find(project, id)
    await this.lock.run(id, async () => {
      const server = await this.find(project, id)
      if (!server.attachments.some((a) => a.volumeId === volumeId)) {
        throw volumeId === server.bootVolume
          ? new ServerError('InvalidArgument', `volume ${volumeId} is the boot volume of server ${id}`)
          : new ServerError('NotFound', `volume ${volumeId} is not attached to server ${id}`)
      }
      try {
        await this.agentCall(server, async (agent) => await agent.detachVolume(id, volumeId))
      } catch (err) {
        if (!(err instanceof ServerError && err.code === 'NotFound')) throw err
      }
      await this.forget(id, volumeId)
      this.c.logger.info({ server: id, volume: volumeId }, 'volume detached')
    })
  }

  /** Which server (of any project) the volume is attached to, its boot volume included, and as which device. */
  async attachmentOf (volumeId: string): Promise<{ serverId: string, device: string } | undefined> {
    const claim = await this.c.control.get<VolumeClaim>(keys.volumeClaim(volumeId))
    const server = claim === undefined ? undefined : await this.record(claim.value.serverId)
    if (server === undefined) return undefined
    const device = volumeId === server.bootVolume ? '/dev/vda' : server.attachments.find((a) => a.volumeId === volumeId)?.device ?? ''
    return { serverId: server.id, device }
  }

  /** Writes back what agents say about every server not busy here (what a read does for one). */
  async reconcile (): Promise<void> {
    await this.list(undefined)
  }

  private async build (server: ServerRecord): Promise<void> {
    try {
      const info = await this.agentCall(server, async (agent) => await agent.startInstance(this.spec(server)))
      await this.settle(server.id, observed(info))
      this.c.logger.info({ server: server.id, host: server.host }, 'server booted')
    } catch (err) {
      this.c.logger.warn({ err, server: server.id, host: server.host }, 'server build failed')
      await this.settle(server.id, { status: 'ERROR', fault: fault(`build on ${server.host} failed: ${(err as Error).message}`) })
        .catch((e: unknown) => this.c.logger.error({ err: e, server: server.id }, 'recording a failed build failed'))
    }
  }

  private async act (project: string, id: string, action: string, from: Array<ServerRecord['status']>,
    op: (agent: ComputeAgentClient, server: ServerRecord) => Promise<InstanceInfo>): Promise<ServerRecord> {
    await this.find(project, id)
    return await this.lock.run(id, async () => {
      const server = await this.observe(await this.find(project, id))
      if (!from.includes(server.status)) throw new ServerError('Conflict', `Cannot '${action}' instance ${id} while it is in status ${server.status}`)
      const info = await this.agentCall(server, async (agent) => await op(agent, server))
      return await this.settle(id, observed(info)) ?? server
    })
  }

  /**
   * The record as the agent sees the instance now; a change is written
   * back. A host that cannot be asked shows ERROR with why (not written:
   * the QEMU may well run on).
   */
  private async observe (server: ServerRecord): Promise<ServerRecord> {
    if (this.building.has(server.id)) return server
    let info: InstanceInfo
    try {
      info = await (await this.agentOf(server)).getInstance(server.id, { timeoutMs: OBSERVE_MS })
    } catch (err) {
      const gone = (err instanceof ComputeError || err instanceof ServerError) && err.code === 'NotFound'
      if (!gone) return { ...server, status: 'ERROR', fault: fault(`compute host ${server.host} cannot be reached: ${(err as Error).message}`) }
      if (server.status === 'ERROR' || (server.status === 'BUILD' && Date.now() - Date.parse(server.updatedAt) < BUILD_GRACE_MS)) return server
      return await this.settle(server.id, { status: 'ERROR', fault: fault(`the instance is gone from compute host ${server.host}`), ssh: null }) ?? server
    }
    const now = observed(info)
    if (now.status === server.status && now.fault?.message === server.fault?.message &&
      now.ssh?.host === server.ssh?.host && now.ssh?.port === server.ssh?.port) return server
    return await this.settle(server.id, now) ?? server
  }

  private async settle (id: string, change: Partial<ServerRecord>): Promise<ServerRecord | undefined> {
    return await updateRecord<ServerRecord>(this.c.control, keys.server(id),
      (current) => current === undefined ? undefined : { ...current, ...change, updatedAt: new Date().toISOString() })
  }

  /** Drops an attachment from the record and the volume's claim. */
  private async forget (id: string, volumeId: string): Promise<void> {
    await updateRecord<ServerRecord>(this.c.control, keys.server(id), (current) => current === undefined
      ? undefined
      : { ...current, attachments: current.attachments.filter((a) => a.volumeId !== volumeId), updatedAt: new Date().toISOString() })
    await this.c.control.commit([], [{ type: 'delete', key: keys.volumeClaim(volumeId) }])
  }

  private async refuseClaimed (volume: VolumeRecord): Promise<void> {
    const claim = await this.c.control.get<VolumeClaim>(keys.volumeClaim(volume.id))
    if (claim !== undefined) throw new ServerError('InUse', `volume ${volume.name} (${volume.id}) is attached to server ${claim.value.serverId}`)
  }

  private async bootableVolume (project: string, ref: string): Promise<VolumeRecord> {
    const volume = await this.c.volumes.getVolume(project, ref).catch((err: unknown) => {
      throw err instanceof VolumeError && err.code === 'NotFound' ? new ServerError('InvalidArgument', `Volume ${ref} could not be found.`) : serverErrorOf(err)
    })
    await this.refuseClaimed(volume)
    if (await this.c.volumes.volumeStatus(volume.id) !== 'available') throw new ServerError('InUse', `volume ${volume.name} is in use by another writer`)
    return volume
  }

  private async bootableImage (project: string, ref: string, flavor: FlavorRecord): Promise<ImageRecord> {
    const image = await this.c.images.get(project, ref).catch((err: unknown) => {
      const e = serverErrorOf(err)
      throw e instanceof ServerError && e.code === 'NotFound' ? new ServerError('InvalidArgument', `Image ${ref} could not be found.`) : e
    })
    if (image.status !== 'active' || image.size === null) throw new ServerError('InvalidArgument', `Image ${ref} is not active (${image.status}).`)
    if (flavor.ramMiB < image.min_ram) {
      throw new ServerError('InvalidArgument', `Flavor's memory is too small for requested image: flavor ${flavor.name} has ${flavor.ramMiB} MiB, the image needs ${image.min_ram} MiB.`)
    }
    if (flavor.diskGiB > 0 && flavor.diskGiB < image.min_disk) {
      throw new ServerError('InvalidArgument', `Flavor's disk is too small for requested image: flavor ${flavor.name} has ${flavor.diskGiB} GiB, the image's min_disk is ${image.min_disk} GiB.`)
    }
    if (flavor.diskGiB > 0 && flavor.diskGiB * GiB < image.size) {
      throw new ServerError('InvalidArgument', `Flavor's disk is too small for requested image: flavor ${flavor.name} has ${flavor.diskGiB} GiB, the image is ${image.size} bytes.`)
    }
    return image
  }

  /** Deletes a volume the server owned, waiting out the lease QEMU's NBD connection held; one already gone is fine. */
  private async deleteVolume (project: string, volumeId: string): Promise<void> {
    for (const until = Date.now() + LEASE_RETURN_MS; ;) {
      try {
        await this.c.volumes.deleteVolume(project, volumeId)
        return
      } catch (err) {
        if (err instanceof VolumeError && err.code === 'NotFound') return
        if (!(err instanceof VolumeError && err.code === 'InUse') || Date.now() > until) throw err
        await sleep(250)
      }
    }
  }

  private async find (project: string, id: string): Promise<ServerRecord> {
    const server = await this.record(id)
    if (server === undefined || server.project !== project) throw new ServerError('NotFound', `Instance ${id} could not be found.`)
    return server
  }

  private async record (id: string): Promise<ServerRecord | undefined> {
    return (await this.c.control.get<ServerRecord>(keys.server(id)))?.value
  }

  private async agentOf (server: ServerRecord): Promise<ComputeAgentClient> {
    return await this.c.hypervisors.agent(server.host)
  }

  /** An agent call with its refusals as server outcomes. */
  private async agentCall<T> (server: ServerRecord, call: (agent: ComputeAgentClient) => Promise<T>): Promise<T> {
    try {
      return await call(await this.agentOf(server))
    } catch (err) {
      throw serverErrorOf(err, `instance ${server.id} is not on compute host ${server.host}`)
    }
  }

  private spec (server: ServerRecord): InstanceSpec {
    return { id: server.id, vcpus: server.flavor.vcpus, ramMiB: server.flavor.ramMiB, disks: [this.disk(server.bootVolume, true)], fwCfg: server.fwCfg }
  }

  private disk (volumeId: string, boot: boolean): DiskSpec {
    const { nbd } = this.c
    if (nbd === undefined) throw new ServerError('Unavailable', 'this gateway serves no NBD target')
    return { host: nbd.host, port: nbd.port, export: volumeId, serial: volumeId, boot }
  }
}

function observed (info: InstanceInfo): Pick<ServerRecord, 'status' | 'fault' | 'ssh'> {
  const status = info.state === 'running' ? 'ACTIVE' : info.state === 'stopped' ? 'SHUTOFF' : 'ERROR'
  return {
    status,
    fault: status === 'ERROR' ? fault(info.fault ?? 'QEMU exited unexpectedly') : null,
    ssh: info.ssh ?? null
  }
}

function fault (message: string): ServerRecord['fault'] {
  return { message, at: new Date().toISOString() }
}

function fwCfgOf (metadata: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') throw new ServerError('InvalidArgument', `metadata ${key} must be a string`)
    if (!key.startsWith(FW_CFG_PREFIX)) continue
    const name = key.slice(FW_CFG_PREFIX.length)
    try {
      checkFwCfgName(name)
    } catch (err) {
      throw new ServerError('InvalidArgument', `metadata ${key}: ${(err as Error).message}`)
    }
    out[name] = value
  }
  return out
}
