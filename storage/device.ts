import { mkdir, readdir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { RingstackError } from '../lib/errors.ts'
import type { Logger } from '../lib/logger.ts'
import type { DeviceConfig } from './config.ts'
import { reconcileDevice } from './device-recovery.ts'
import { DirSyncer, fsyncDir } from './dir-syncer.ts'
import { StorageError } from './errors.ts'
import { KeyedLock } from './keyed-lock.ts'
import { ListingStore } from './listing-store.ts'
import { fileName, type Hasher, type ObjectMeta } from './object-file-format.ts'
import { ObjectFileReader } from './object-file-reader.ts'
import { ObjectFileWriter } from './object-file-writer.ts'
import { ObjectIndex, type IndexEntry } from './object-index.ts'
import type { ObjectKey } from './object-name.ts'
import { digestPartition, suffixOf } from './partition-digest.ts'
import type { ObjectInfo } from './types.ts'

/** Present after a clean stop: the index is known to match the files. */
const CLEAN_MARKER = 'clean-shutdown'

const ABSENT: ObjectInfo = Object.freeze({
  exists: false, deleted: false, timestamp: 0n, size: 0, checksum: '', metadata: {}
})

export interface DevicePaths {
  root: string
  objects: string
  tmp: string
  quarantine: string
  index: string
  listings: string
}

function devicePaths (root: string): DevicePaths {
  return {
    root,
    objects: join(root, 'objects'),
    tmp: join(root, 'tmp'),
    quarantine: join(root, 'quarantine'),
    index: join(root, 'index'),
    listings: join(root, 'listings')
  }
}

/** A live replica opened for reading, or just the info of an absent/deleted one. */
export interface ReplicaRead {
  info: ObjectInfo
  /** Verified bytes of [start, end); a corrupt block quarantines the file and throws Corrupt. */
  body: (start: number, end: number, maxPiece: number) => AsyncGenerator<Buffer>
  close: () => Promise<void>
}

export interface DeviceComponents {
  logger: Logger
  hasher: Hasher
}

/**
 * One data directory: replica files under objects/<partition>/, their index,
 * temp files and quarantine. All changes to a name happen under its lock,
 * in the order rename, directory fsync, index write, unlink of the old file.
 */
export class Device {
  readonly name: string
  readonly paths: DevicePaths
  /**
   * Account and container listings. A DB of their own, not the object
   * index: the index is a cache that a reconcile rebuilds from the replica
   * files, while listings are the only copy of what they hold and are synced
   * on every write.
   */
  readonly listings: ListingStore
  private readonly index: ObjectIndex
  private readonly logger: Logger
  private readonly hasher: Hasher
  private readonly locks = new KeyedLock()
  private readonly dirs = new DirSyncer()
  /** Partition directories known to exist durably (or being made so). */
  private readonly partitionDirs = new Map<number, Promise<string>>()
  private tmpFiles = 0

  private constructor (name: string, paths: DevicePaths, index: ObjectIndex, listings: ListingStore,
    components: DeviceComponents) {
    this.name = name
    this.paths = paths
    this.index = index
    this.listings = listings
    this.logger = components.logger
    this.hasher = components.hasher
  }

  static async open (config: DeviceConfig, components: DeviceComponents): Promise<Device> {
    const paths = devicePaths(config.path)
    const logger = components.logger.child({ device: config.name })
    // A missing device directory is most likely an unmounted disk: never fill the root filesystem instead.
    if (!(await exists(paths.root))) throw new RingstackError('InvalidConfig', `device ${config.name}: ${paths.root} does not exist`)
    await Promise.all([paths.objects, paths.tmp, paths.quarantine].map(async (dir) => await mkdir(dir, { recursive: true })))
    const index = await ObjectIndex.open(paths.index)
    let listings: ListingStore | undefined
    try {
      listings = await ListingStore.open(paths.listings)
      const marker = join(paths.root, CLEAN_MARKER)
      if (await exists(marker)) {
        await rm(paths.tmp, { recursive: true, force: true })
        await mkdir(paths.tmp)
        await unlink(marker)
        // The marker must be gone for good before any write, or a crash
        // later would skip the reconcile that write may need.
        await fsyncDir(paths.root)
      } else {
        await reconcileDevice(paths, index, components.hasher, logger)
      }
    } catch (err) {
      await listings?.close()
      await index.close()
      throw err
    }
    return new Device(config.name, paths, index, listings, { ...components, logger })
  }

  head (key: ObjectKey): ObjectInfo {
    const entry = this.entry(key)
    return entry === undefined ? ABSENT : infoOf(entry)
  }

  /** Early Conflict check, so a stale write is refused before its body moves. */
  assertNewer (key: ObjectKey, timestamp: bigint): void {
    assertNewer(this.entry(key), timestamp)
  }

  newWriter (): ObjectFileWriter {
    // tmp/ is emptied whenever the device opens, so a counter is a unique name.
    return new ObjectFileWriter(join(this.paths.tmp, `${++this.tmpFiles}.tmp`), this.hasher)
  }

  /**
   * Makes a written body (or an empty tombstone) the name's newest version.
   * The writer's temp file is renamed into place, or removed on failure.
   */
  async commit (key: ObjectKey, writer: ObjectFileWriter,
    version: { timestamp: bigint, deleted: boolean, metadata: Record<string, string> }): Promise<ObjectInfo> {
    try {
      const meta = await writer.finish({ name: key.name, ...version })
      return await this.locks.run(key.hash, async () => await this.install(key, writer.path, meta))
    } catch (err) {
      await writer.discard()
      throw err
    }
  }

  async delete (key: ObjectKey, timestamp: bigint): Promise<ObjectInfo> {
    return await this.commit(key, this.newWriter(), { timestamp, deleted: true, metadata: {} })
  }

  async read (key: ObjectKey): Promise<ReplicaRead> {
    for (;;) {
      const entry = this.entry(key)
      if (entry === undefined || entry.deleted) {
        return { info: entry === undefined ? ABSENT : infoOf(entry), body: emptyBody, close: async () => {} }
      }
      const path = join(this.partitionDir(key.ref.partition), entry.file)
      let reader: ObjectFileReader
      try {
        reader = await ObjectFileReader.open(path, this.hasher)
      } catch (err) {
        if (isErrno(err, 'ENOENT')) {
          // Either a newer commit replaced the file (look again) or it vanished.
          if (this.entry(key)?.file === entry.file) await this.forgetMissing(key, entry.file)
          continue
        }
        if (err instanceof StorageError && err.code === 'Corrupt') await this.quarantine(key, entry.file, err)
        throw err
      }
      if (reader.meta.name !== key.name || reader.meta.timestamp !== entry.timestamp) {
        await reader.close()
        const err = new StorageError('Corrupt', `${path}: meta does not match the index`)
        await this.quarantine(key, entry.file, err)
        throw err
      }
      return {
        info: infoOf(reader.meta),
        body: (start, end, maxPiece) => this.verifiedBody(key, entry.file, reader, start, end, maxPiece),
        close: async () => await reader.close()
      }
    }
  }

  /** Digest per suffix of one partition (partition-digest.ts). */
  async digest (partition: number): Promise<Map<string, string>> {
    return await digestPartition(this.index.partition(partition))
  }

  /** The newest version of every name of a partition (under `suffixes` only, when given), in hash order. */
  async entries (partition: number, suffixes?: ReadonlySet<string>): Promise<Array<{ hash: string, entry: IndexEntry }>> {
    const out: Array<{ hash: string, entry: IndexEntry }> = []
    for await (const row of this.index.partition(partition)) {
      if (suffixes === undefined || suffixes.has(suffixOf(row.hash))) out.push(row)
    }
    return out
  }

  /** What the device holds: a walk of its index (for `ringstack status`, not a hot path). */
  async status (): Promise<{ partitions: number, objects: number, tombstones: number, bytes: number, quarantined: number }> {
    const out = { partitions: 0, objects: 0, tombstones: 0, bytes: 0, quarantined: (await readdir(this.paths.quarantine)).length }
    let last = -1
    for await (const { partition, entry } of this.index.entries()) {
      if (partition !== last) out.partitions++
      last = partition
      if (entry.deleted) out.tombstones++
      else out.objects++
      out.bytes += entry.size
    }
    return out
  }

  /** Partitions this device has a directory for (it may hold nothing any more). */
  async partitions (): Promise<number[]> {
    const names = await readdir(this.paths.objects)
    return names.filter((name) => /^\d+$/.test(name)).map(Number)
  }

  /**
   * Removes the replica of a name outright (no tombstone), if it is still
   * at `timestamp`: how a handoff gives a partition back once its primaries
   * hold it.
   */
  async release (key: ObjectKey, timestamp: bigint): Promise<void> {
    await this.locks.run(key.hash, async () => {
      const entry = this.entry(key)
      if (entry === undefined || entry.timestamp !== timestamp) return
      await this.index.del(key.ref.partition, key.hash)
      await unlink(join(this.partitionDir(key.ref.partition), entry.file)).catch((err: unknown) => {
        if (!isErrno(err, 'ENOENT')) throw err
      })
    })
  }

  async close (): Promise<void> {
    await this.dirs.close()
    await this.listings.close()
    await this.index.syncAndClose()
    await writeFile(join(this.paths.root, CLEAN_MARKER), '')
    await fsyncDir(this.paths.root)
  }

  private async * verifiedBody (key: ObjectKey, file: string, reader: ObjectFileReader,
    start: number, end: number, maxPiece: number): AsyncGenerator<Buffer> {
    try {
      yield * reader.read(start, end, maxPiece)
    } catch (err) {
      if (err instanceof StorageError && err.code === 'Corrupt') await this.quarantine(key, file, err)
      throw err
    }
  }

  private async install (key: ObjectKey, tmpPath: string, meta: ObjectMeta): Promise<ObjectInfo> {
    const { partition } = key.ref
    const previous = this.entry(key)
    assertNewer(previous, meta.timestamp)
    const dir = await this.ensurePartitionDir(partition)
    const file = fileName(key.hash, meta.timestamp, meta.deleted)
    await rename(tmpPath, join(dir, file))
    await this.dirs.sync(dir)
    await this.index.put(partition, key.hash, { ...meta, file })
    if (previous !== undefined && previous.file !== file) {
      await unlink(join(dir, previous.file)).catch((err: unknown) => {
        if (!isErrno(err, 'ENOENT')) throw err
      })
    }
    return infoOf(meta)
  }

  /** Moves a bad file aside for the replicator to replace, and forgets it. */
  private async quarantine (key: ObjectKey, file: string, reason: Error): Promise<void> {
    const { partition } = key.ref
    await this.locks.run(key.hash, async () => {
      await rename(join(this.partitionDir(partition), file), join(this.paths.quarantine, `${partition}-${file}`))
        .catch((err: unknown) => {
          if (!isErrno(err, 'ENOENT')) throw err
        })
      if (this.entry(key)?.file === file) await this.index.del(partition, key.hash)
    })
    this.logger.error({ name: key.name, partition, file, reason: reason.message }, 'replica quarantined')
  }

  private async forgetMissing (key: ObjectKey, file: string): Promise<void> {
    await this.locks.run(key.hash, async () => {
      if (this.entry(key)?.file === file) await this.index.del(key.ref.partition, key.hash)
    })
    this.logger.error({ name: key.name, partition: key.ref.partition, file }, 'indexed replica file is missing')
  }

  private entry (key: ObjectKey): IndexEntry | undefined {
    const entry = this.index.get(key.ref.partition, key.hash)
    if (entry !== undefined && entry.name !== key.name) {
      throw new StorageError('Internal', `name hash collision: ${key.name} and ${entry.name}`)
    }
    return entry
  }

  private partitionDir (partition: number): string {
    return join(this.paths.objects, String(partition))
  }

  private async ensurePartitionDir (partition: number): Promise<string> {
    let ready = this.partitionDirs.get(partition)
    if (ready === undefined) {
      const dir = this.partitionDir(partition)
      ready = (async () => {
        if (await mkdir(dir, { recursive: true }) !== undefined) await this.dirs.sync(this.paths.objects)
        return dir
      })()
      this.partitionDirs.set(partition, ready)
      ready.catch(() => this.partitionDirs.delete(partition))
    }
    return await ready
  }
}

function assertNewer (entry: IndexEntry | undefined, timestamp: bigint): void {
  if (entry !== undefined && timestamp <= entry.timestamp) {
    throw new StorageError('Conflict', `a version at ${entry.timestamp} is already stored (write at ${timestamp})`)
  }
}

function infoOf (meta: ObjectMeta): ObjectInfo {
  return {
    exists: true,
    deleted: meta.deleted,
    timestamp: meta.timestamp,
    size: meta.size,
    checksum: meta.checksum,
    metadata: meta.metadata
  }
}

async function * emptyBody (): AsyncGenerator<Buffer> {}

async function exists (path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false
    throw err
  }
}

function isErrno (err: unknown, code: string): boolean {
  return err instanceof Error && (err as NodeJS.ErrnoException).code === code
}
