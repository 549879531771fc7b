import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { updateRecord, type ControlOp, type ControlRecord, type ControlStore } from '../../lib/control-store/index.ts'
import type { Startable } from '../../lib/lifecycle.ts'
import type { Logger } from '../../lib/logger.ts'
import { FROZEN_EPOCH, type ChunkStore } from '../chunks/chunk-store.ts'
import { StorageError } from '../errors.ts'
import { VolumeError } from './errors.ts'
import { collectGarbage } from './layer-gc.ts'
import { chainIds, LayerChain } from './layer-chain.ts'
import { LayerWriter } from './layer-writer.ts'
import { Lease } from './lease.ts'
import {
  DEFAULT_CHUNK_SIZE, keys, MAX_CHUNK_SIZE, MAX_VOLUME_SIZE, MIN_CHUNK_SIZE, SECTOR,
  type ImageBase, type LayerRecord, type LeaseRecord, type SnapshotRecord, type VolumeRecord
} from './records.ts'
import { VolumeDevice } from './volume-device.ts'

export interface VolumeServiceComponents {
  control: ControlStore
  chunks: ChunkStore
  logger: Logger
}

export interface VolumeServiceOptions {
  /** Names this process in lease records (e.g. the gateway id). */
  holder: string
  /** A dead writer's lease lapses after this long (default 15 s). */
  leaseTtlMs?: number
  /** How often layers nothing refers to any more are dropped from the nodes (default 30 s). */
  gcIntervalMs?: number
}

export interface CreateVolume {
  project: string
  name: string
  size: number
  chunkSize?: number
}

export interface CloneVolume {
  project: string
  name: string
  /** Snapshot id or name. */
  snapshot: string
  /** Defaults to the snapshot's size; may only grow it. */
  size?: number
}

export interface VolumeFromImage {
  project: string
  name: string
  /** Image id. */
  image: string
  /** Defaults to the image's size rounded up to a sector, or its min_disk if that is more. */
  size?: number
}

export type VolumeStatus = 'available' | 'in-use'

const GiB = 1024 ** 3

/** How long a reopen waits for this process's previous handle of the volume to start closing. */
const REOPEN_GRACE_MS = 2_000

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/**
 * Volumes, snapshots and clones: their records in the control store, their
 * bytes in layers of the chunk store. Snapshots freeze the volume's head
 * layer and give the volume a fresh head on top, clones start a head on top
 * of a snapshot's layer: both O(1), whatever the size. Opening a volume for
 * I/O takes its write lease.
 */
export class VolumeService implements Startable {
  private readonly control: ControlStore
  private readonly chunks: ChunkStore
  private readonly logger: Logger
  private readonly holder: string
  private readonly leaseTtlMs: number
  private readonly gcIntervalMs: number
  private gcTimer: NodeJS.Timeout | undefined
  private gcRun: Promise<void> = Promise.resolve()
  /** Volumes this process has open for writing. */
  private readonly writers = new Map<string, VolumeDevice>()

  constructor (components: VolumeServiceComponents, options: VolumeServiceOptions) {
    this.control = components.control
    this.chunks = components.chunks
    this.logger = components.logger
    this.holder = options.holder
    this.leaseTtlMs = options.leaseTtlMs ?? 15_000
    this.gcIntervalMs = options.gcIntervalMs ?? 30_000
  }

  async start (): Promise<void> {
    const tick = (): void => {
      this.collect()
      this.gcTimer = setTimeout(tick, this.gcIntervalMs)
      this.gcTimer.unref()
    }
    tick()
  }

  async stop (): Promise<void> {
    clearTimeout(this.gcTimer)
    this.gcTimer = undefined
    await this.gcRun
  }

  async createVolume (request: CreateVolume): Promise<VolumeRecord> {
    checkName(request.name)
    checkSize(request.size)
    const chunkSize = request.chunkSize ?? DEFAULT_CHUNK_SIZE
    if (!Number.isInteger(Math.log2(chunkSize)) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
      throw new VolumeError('InvalidArgument', `chunk size must be a power of two from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE} bytes`)
    }
    return await this.addVolume(request.project, request.name, request.size, chunkSize, { parent: null, sourceSnapshot: null })
  }

  /** A copy-on-write volume on top of a snapshot: constant time whatever the size. */
  async cloneVolume (request: CloneVolume): Promise<VolumeRecord> {
    checkName(request.name)
    const record = await this.snapshotRecord(request.project, request.snapshot)
    const snapshot = record.value
    const size = request.size ?? snapshot.size
    checkSize(size)
    if (size < snapshot.size) throw new VolumeError('InvalidArgument', `a clone cannot be smaller than its snapshot (${snapshot.size} bytes)`)
    // Guarded by the snapshot record: a delete of the snapshot racing this clone fails one of the two.
    return await this.addVolume(request.project, request.name, size, snapshot.chunkSize, { parent: snapshot.layer, sourceSnapshot: snapshot.id, guard: record })
  }

  /**
   * A copy-on-write volume on top of an active image's layer: constant time
   * whatever the size. Public images serve every project, private ones their
   * owner's only (to anyone else they do not exist).
   */
  async createVolumeFromImage (request: VolumeFromImage): Promise<VolumeRecord> {
    checkName(request.name)
    const record = await this.imageRecord<ImageBase>(request.image)
    const image = record.value
    if (image.visibility !== 'public' && image.owner !== request.project) throw new VolumeError('NotFound', `no image ${request.image}`)
    if (image.status !== 'active' || image.store === null || image.size === null) {
      throw new VolumeError('InvalidArgument', `image ${image.id} is ${image.status}, not active`)
    }
    const least = Math.max(Math.ceil(image.size / SECTOR) * SECTOR, image.min_disk * GiB)
    const size = request.size ?? least
    checkSize(size)
    if (size < least) {
      throw new VolumeError('InvalidArgument', `image ${image.id} needs a volume of at least ${least} bytes (its size, and min_disk ${image.min_disk} GiB)`)
    }
    // Rewriting the image record unchanged bumps its revision, so a delete that checked for dependents before this commit fails.
    return await this.addVolume(request.project, request.name, size, image.store.chunkSize,
      { parent: image.store.layer, sourceSnapshot: null, sourceImage: image.id, guard: record })
  }

  /** Volumes of one project, or of all when `project` is undefined. */
  async listVolumes (project?: string): Promise<VolumeRecord[]> {
    const all = await this.control.list<VolumeRecord>(keys.volumes)
    return all.map((r) => r.value).filter((v) => project === undefined || v.project === project)
  }

  async getVolume (project: string | undefined, ref: string): Promise<VolumeRecord> {
    return (await this.volumeRecord(project, ref)).value
  }

  async volumeStatus (id: string): Promise<VolumeStatus> {
    const lease = await this.control.get<LeaseRecord>(keys.lease(id))
    return lease !== undefined && lease.value.holder !== '' && lease.value.expiresAt > Date.now() ? 'in-use' : 'available'
  }

  async extendVolume (project: string, ref: string, size: number): Promise<VolumeRecord> {
    checkSize(size)
    const record = await this.volumeRecord(project, ref)
    if (size < record.value.size) throw new VolumeError('InvalidArgument', `volumes only grow: ${record.value.name} is ${record.value.size} bytes`)
    const value = { ...record.value, size }
    await this.commitOrConflict([{ key: record.key, modRevision: record.modRevision }], [{ type: 'put', key: record.key, value }])
    return value
  }

  async deleteVolume (project: string, ref: string): Promise<void> {
    const record = await this.volumeRecord(project, ref)
    const volume = record.value
    const snapshots = (await this.control.list<SnapshotRecord>(keys.snapshots)).filter((s) => s.value.volumeId === volume.id)
    if (snapshots.length > 0) {
      throw new VolumeError('HasDependents', `volume ${volume.name} has ${snapshots.length} snapshot(s); delete them first`)
    }
    // Holding the lease while deleting keeps a writer from attaching halfway.
    const lease = await this.takeLease(volume.id, 'delete')
    try {
      await this.commitOrConflict([{ key: record.key, modRevision: record.modRevision }], [
        { type: 'delete', key: record.key },
        { type: 'delete', key: keys.volumeName(volume.project, volume.name) },
        { type: 'delete', key: keys.lease(volume.id) }
      ])
    } finally {
      if (!lease.isLost) await lease.release().catch(() => {})
    }
    this.logger.info({ volume: volume.id, name: volume.name }, 'volume deleted')
    this.collect()
  }

  /**
   * Freezes the volume's head as the snapshot and gives the volume a new,
   * empty head on top of it. Refused while someone else writes the volume.
   */
  async createSnapshot (project: string, volumeRef: string, name: string): Promise<SnapshotRecord> {
    checkName(name)
    const volume = await this.getVolume(project, volumeRef)
    const lease = await this.takeLease(volume.id, 'snapshot')
    try {
      const record = await this.volumeRecord(project, volume.id)
      const frozen = record.value.head
      // Frozen on the nodes first: no write, however late, can change the snapshot afterwards.
      await this.onNodes(async () => await this.chunks.fence(frozen, FROZEN_EPOCH))
      const snapshot: SnapshotRecord = {
        id: randomUUID(), project, volumeId: volume.id, name, layer: frozen,
        size: record.value.size, chunkSize: record.value.chunkSize, createdAt: new Date().toISOString()
      }
      const head: LayerRecord = { id: randomUUID(), parent: frozen }
      const nameKey = keys.snapshotName(project, name)
      await this.commitOrConflict([{ key: record.key, modRevision: record.modRevision }, { key: nameKey, modRevision: 0 }], [
        { type: 'put', key: keys.layer(head.id), value: head },
        { type: 'put', key: keys.snapshot(snapshot.id), value: snapshot },
        { type: 'put', key: nameKey, value: snapshot.id },
        { type: 'put', key: record.key, value: { ...record.value, head: head.id } satisfies VolumeRecord }
      ], `a snapshot named ${name} already exists`)
      this.logger.info({ volume: volume.id, snapshot: snapshot.id, layer: frozen }, 'snapshot created')
      return snapshot
    } finally {
      await lease.release()
    }
  }

  async listSnapshots (project?: string, volumeRef?: string): Promise<SnapshotRecord[]> {
    const volumeId = volumeRef === undefined ? undefined : (await this.getVolume(project, volumeRef)).id
    const all = await this.control.list<SnapshotRecord>(keys.snapshots)
    return all.map((r) => r.value)
      .filter((s) => (project === undefined || s.project === project) && (volumeId === undefined || s.volumeId === volumeId))
  }

  async getSnapshot (project: string | undefined, ref: string): Promise<SnapshotRecord> {
    return (await this.snapshotRecord(project, ref)).value
  }

  /** Refused while a clone still reads through the snapshot's layer; its bytes go once nothing does. */
  async deleteSnapshot (project: string, ref: string): Promise<void> {
    const record = await this.snapshotRecord(project, ref)
    const snapshot = record.value
    const clones: string[] = []
    for (const volume of await this.listVolumes()) {
      if (volume.id !== snapshot.volumeId && (await chainIds(this.control, volume.head)).includes(snapshot.layer)) clones.push(volume.name)
    }
    if (clones.length > 0) {
      throw new VolumeError('HasDependents', `snapshot ${snapshot.name} has clones (${clones.join(', ')}); delete or flatten them first`)
    }
    await this.commitOrConflict([{ key: record.key, modRevision: record.modRevision }], [
      { type: 'delete', key: record.key },
      { type: 'delete', key: keys.snapshotName(snapshot.project, snapshot.name) }
    ])
    this.logger.info({ snapshot: snapshot.id }, 'snapshot deleted')
    this.collect()
  }

  /**
   * Copies everything a clone still reads from its snapshot into its own
   * head, then cuts it loose. Resolves once the volume's lease is taken (so
   * an InUse refusal comes straight back); `finished` settles when the copy does.
   */
  async flattenVolume (project: string, ref: string, progress: (done: number, total: number) => void = () => {}):
  Promise<{ finished: Promise<VolumeRecord> }> {
    const volume = await this.getVolume(project, ref)
    const device = await this.openVolume(volume.id)
    const finished = (async () => {
      try {
        await device.copyUpAll(progress)
      } finally {
        await device.close()
      }
      return await this.detachFromParent(project, volume)
    })()
    return { finished }
  }

  private async detachFromParent (project: string, volume: VolumeRecord): Promise<VolumeRecord> {
    const layerKey = keys.layer(volume.head)
    const layer = await this.control.get<LayerRecord>(layerKey)
    const record = await this.volumeRecord(project, volume.id)
    const flat: VolumeRecord = { ...record.value, sourceSnapshot: null }
    await this.commitOrConflict([{ key: record.key, modRevision: record.modRevision }, { key: layerKey, modRevision: layer?.modRevision ?? 0 }], [
      { type: 'put', key: layerKey, value: { id: volume.head, parent: null } satisfies LayerRecord },
      { type: 'put', key: record.key, value: flat }
    ])
    this.logger.info({ volume: volume.id }, 'volume flattened')
    this.collect()
    return flat
  }

  /** Opens a volume for reading and writing: takes its lease and fences every earlier writer. */
  async openVolume (id: string): Promise<VolumeDevice> {
    // A client that reconnects right after disconnecting finds its old handle still finishing
    // its I/O or flushing: that lease is ours and about to go, so wait for it instead of refusing.
    const previous = this.writers.get(id)
    if (previous !== undefined) await Promise.race([previous.settled(REOPEN_GRACE_MS), sleep(this.leaseTtlMs, undefined, { ref: false })])
    const lease = await this.takeLease(id, 'export')
    try {
      const volume = await this.getVolume(undefined, id)
      await this.onNodes(async () => await this.chunks.fence(volume.head, lease.epoch))
      const chain = await this.onNodes(async () => await LayerChain.load(this.control, this.chunks, volume.head))
      const device: VolumeDevice = new VolumeDevice({ chunks: this.chunks, logger: this.logger }, {
        size: volume.size,
        chunkSize: volume.chunkSize,
        chain,
        lease,
        onClosed: () => { if (this.writers.get(id) === device) this.writers.delete(id) }
      })
      this.writers.set(id, device)
      return device
    } catch (err) {
      await lease.release()
      throw err
    }
  }

  /** Opens a snapshot read-only; frozen layers need no lease. */
  async openSnapshot (id: string): Promise<VolumeDevice> {
    const snapshot = await this.getSnapshot(undefined, id)
    const chain = await this.onNodes(async () => await LayerChain.load(this.control, this.chunks, snapshot.layer))
    return new VolumeDevice({ chunks: this.chunks, logger: this.logger }, { size: snapshot.size, chunkSize: snapshot.chunkSize, chain })
  }

  private async addVolume (project: string, name: string, size: number, chunkSize: number, origin: {
    parent: string | null
    sourceSnapshot: string | null
    sourceImage?: string
    /** A record that must not change meanwhile, and is rewritten as it is so that a change racing this one fails. */
    guard?: ControlRecord<unknown>
  }): Promise<VolumeRecord> {
    const head: LayerRecord = { id: randomUUID(), parent: origin.parent }
    const volume: VolumeRecord = {
      id: randomUUID(), project, name, size, chunkSize, head: head.id, sourceSnapshot: origin.sourceSnapshot,
      ...(origin.sourceImage === undefined ? {} : { sourceImage: origin.sourceImage }), createdAt: new Date().toISOString()
    }
    const nameKey = keys.volumeName(project, name)
    const guard = origin.guard
    await this.commitOrConflict([{ key: nameKey, modRevision: 0 }, ...guard === undefined ? [] : [{ key: guard.key, modRevision: guard.modRevision }]], [
      { type: 'put', key: keys.layer(head.id), value: head },
      { type: 'put', key: keys.volume(volume.id), value: volume },
      { type: 'put', key: nameKey, value: volume.id },
      ...guard === undefined ? [] : [{ type: 'put' as const, key: guard.key, value: guard.value }]
    ], `a volume named ${name} already exists`)
    this.logger.info({ volume: volume.id, name, size, sourceSnapshot: origin.sourceSnapshot, sourceImage: origin.sourceImage }, 'volume created')
    return volume
  }

  /**
   * Claims a fresh layer for an image's bytes and opens it for writing.
   * `saving` gives the image record as it reads while the upload runs (and
   * may refuse by throwing); the layer is recorded in that same transaction,
   * so the layer GC keeps it from the first byte on. Once the writer is
   * sealed the layer is frozen; if the upload fails, abandonImageImport
   * with `failed`, which this does itself when the layer cannot be opened.
   */
  async startImageImport<T extends ImageBase> (imageId: string, transitions: { saving: (image: T) => T, failed: (image: T) => T }):
  Promise<{ image: T, writer: LayerWriter }> {
    const record = await this.imageRecord<T>(imageId)
    const layer: LayerRecord = { id: randomUUID(), parent: null }
    const image: T = { ...transitions.saving(record.value), store: { layer: layer.id, chunkSize: DEFAULT_CHUNK_SIZE, writer: this.holder } }
    await this.commitOrConflict([{ key: record.key, modRevision: record.modRevision }], [
      { type: 'put', key: keys.layer(layer.id), value: layer },
      { type: 'put', key: record.key, value: image }
    ])
    this.logger.info({ image: imageId, layer: layer.id }, 'image import started')
    try {
      return { image, writer: await LayerWriter.open({ chunks: this.chunks }, { layer: layer.id, chunkSize: DEFAULT_CHUNK_SIZE }) }
    } catch (err) {
      await this.abandonImageImport(imageId, transitions.failed)
      throw err
    }
  }

  /**
   * Lets go of a failed import's bytes: `failed` gives the record as it
   * reads now (e.g. killed); its layer is dropped in the background. A
   * record deleted meanwhile stays deleted.
   */
  async abandonImageImport<T extends ImageBase> (imageId: string, failed: (image: T) => T): Promise<void> {
    await updateRecord<T>(this.control, keys.image(imageId), (image) => image === undefined ? undefined : { ...failed(image), store: null })
    this.collect()
  }

  /** Volumes and snapshots whose chain still runs through the image's layer: they read its bytes. */
  async imageDependents (imageId: string): Promise<string[]> {
    const image = (await this.imageRecord<ImageBase>(imageId)).value
    const layer = image.store?.layer
    if (layer === undefined) return []
    const found: string[] = []
    for (const volume of await this.listVolumes()) {
      if ((await chainIds(this.control, volume.head)).includes(layer)) found.push(`volume ${volume.name}`)
    }
    for (const snapshot of await this.listSnapshots()) {
      if ((await chainIds(this.control, snapshot.layer)).includes(layer)) found.push(`snapshot ${snapshot.name}`)
    }
    return found
  }

  /**
   * Deletes an image's record, refused (HasDependents) while a volume or
   * snapshot still reads through its layer; `allowed` may refuse too. The
   * layer is dropped in the background.
   */
  async deleteImage<T extends ImageBase> (imageId: string, allowed: (image: T) => void): Promise<void> {
    const record = await this.imageRecord<T>(imageId)
    allowed(record.value)
    const dependents = await this.imageDependents(imageId)
    if (dependents.length > 0) {
      throw new VolumeError('HasDependents', `image ${imageId} is in use by ${dependents.join(', ')}; delete or flatten them first`)
    }
    await this.commitOrConflict([{ key: record.key, modRevision: record.modRevision }], [{ type: 'delete', key: record.key }])
    this.logger.info({ image: imageId, layer: record.value.store?.layer }, 'image deleted')
    this.collect()
  }

  /** Opens an active image's bytes read-only (a frozen layer needs no lease); the device is its size rounded up to a sector. */
  async openImage (imageId: string): Promise<VolumeDevice> {
    const image = (await this.imageRecord<ImageBase>(imageId)).value
    if (image.status !== 'active' || image.store === null || image.size === null) {
      throw new VolumeError('InvalidArgument', `image ${imageId} is ${image.status}, not active`)
    }
    const store = image.store
    const chain = await this.onNodes(async () => await LayerChain.load(this.control, this.chunks, store.layer))
    return new VolumeDevice({ chunks: this.chunks, logger: this.logger },
      { size: Math.max(SECTOR, Math.ceil(image.size / SECTOR) * SECTOR), chunkSize: store.chunkSize, chain })
  }

  private async imageRecord<T extends ImageBase> (id: string): Promise<ControlRecord<T>> {
    const record = await this.control.get<T>(keys.image(id))
    if (record === undefined) throw new VolumeError('NotFound', `no image ${id}`)
    return record
  }

  private async takeLease (volumeId: string, purpose: string): Promise<Lease> {
    return await Lease.acquire(this.control, volumeId, `${this.holder}/${purpose}/${randomUUID().slice(0, 8)}`,
      { ttlMs: this.leaseTtlMs }, this.logger)
  }

  private async volumeRecord (project: string | undefined, ref: string): Promise<ControlRecord<VolumeRecord>> {
    return await this.lookup<VolumeRecord>(project, ref, keys.volume, keys.volumeName, 'volume')
  }

  private async snapshotRecord (project: string | undefined, ref: string): Promise<ControlRecord<SnapshotRecord>> {
    return await this.lookup<SnapshotRecord>(project, ref, keys.snapshot, keys.snapshotName, 'snapshot')
  }

  /** By id, or by name within the project. */
  private async lookup<T extends { project: string }> (project: string | undefined, ref: string,
    byId: (id: string) => string, byName: (project: string, name: string) => string, what: string): Promise<ControlRecord<T>> {
    let record = await this.control.get<T>(byId(ref))
    if (record === undefined && project !== undefined) {
      const id = await this.control.get<string>(byName(project, ref))
      if (id !== undefined) record = await this.control.get<T>(byId(id.value))
    }
    if (record === undefined || (project !== undefined && record.value.project !== project)) {
      throw new VolumeError('NotFound', `no ${what} ${ref}`)
    }
    return record
  }

  private async commitOrConflict (compares: Parameters<ControlStore['commit']>[0], ops: ControlOp[], nameTaken?: string): Promise<void> {
    try {
      await this.control.commit(compares, ops)
    } catch (err) {
      if ((err as { code?: string }).code !== 'Conflict') throw err
      const name = compares.find((c) => c.modRevision === 0 && c.key.includes('-names/'))
      if (nameTaken !== undefined && name !== undefined && await this.control.get(name.key) !== undefined) {
        throw new VolumeError('AlreadyExists', nameTaken)
      }
      throw new VolumeError('InUse', 'changed concurrently; try again', { cause: err })
    }
  }

  /** Chunk-store calls that need (almost) every node: their failure is the volume API's Unavailable. */
  private async onNodes<T> (op: () => Promise<T>): Promise<T> {
    try {
      return await op()
    } catch (err) {
      if (err instanceof StorageError) throw new VolumeError('Unavailable', `storage nodes: ${err.message}`, { cause: err })
      throw err
    }
  }

  /** Drops layers nothing refers to any more; runs in the background, retried on the next tick if nodes are down. */
  private collect (): void {
    this.gcRun = this.gcRun.then(async () => {
      try {
        await collectGarbage(this.control, this.chunks, this.logger)
      } catch (err) {
        this.logger.warn({ err }, 'layer garbage collection failed; retrying later')
      }
    })
  }
}

function checkName (name: string): void {
  if (!NAME.test(name)) {
    throw new VolumeError('InvalidArgument', 'names are 1-128 characters: letters, digits, ".", "_" and "-", starting with a letter or digit')
  }
}

function checkSize (size: number): void {
  if (!Number.isSafeInteger(size) || size <= 0 || size % SECTOR !== 0 || size > MAX_VOLUME_SIZE) {
    throw new VolumeError('InvalidArgument', `size must be a positive multiple of ${SECTOR} bytes, at most ${MAX_VOLUME_SIZE}`)
  }
}
