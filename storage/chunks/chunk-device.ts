import { mkdir, readdir, rm, unlink, writeFile } from 'node:fs/promises'
import { dirname, join, sep } from 'node:path'
import type { Logger } from '../../lib/logger.ts'
import type { DeviceConfig } from '../config.ts'
import { DirSyncer, fsyncDir } from '../dir-syncer.ts'
import { StorageError } from '../errors.ts'
import { KeyedLock } from '../keyed-lock.ts'
import { ChunkStateError } from './chunk-errors.ts'
import { cutToZeroes, exists, isErrno, readAt, syncFilesystem, writeAt, writeZeroes } from './chunk-file-io.ts'
import { ChunkIndex, type ChunkIndexOp, type ChunkMeta } from './chunk-index.ts'
import { checkChunkSize, checkIndex, checkLayer, checkRange, checkWriteVersion, chunkDir, chunkFile } from './chunk-layout.ts'
import { FROZEN_EPOCH, type ChunkState, type ChunkVersion } from './chunk-store.ts'
import { compareVersions, formatVersion, sameVersion } from './chunk-version.ts'
import { FdCache } from './fd-cache.ts'

/** Present only after a clean close: every file of every layer was fsynced. */
const CLEAN_MARKER = 'chunks-clean-shutdown'
/** Files fsynced at once by a flush. */
const FLUSH_PARALLEL = 16

export type NodeChunkChange =
  | { kind: 'data', data: Buffer }
  | { kind: 'zero', length: number }
  | { kind: 'trim' }

/** One write as a node receives it: the replica's share of a ChunkWriteRequest. */
export interface NodeChunkWrite {
  partition: number
  layer: string
  index: number
  chunkSize: number
  /** Where data or zero starts (0 for trim). */
  offset: number
  change: NodeChunkChange
  prev: ChunkVersion | null
  next: ChunkVersion
  fua: boolean
}

export interface NodeChunkRead {
  partition: number
  layer: string
  index: number
  chunkSize: number
  version: ChunkVersion
  offset: number
  length: number
}

export interface ScanEntry extends ChunkState {
  index: number
}

interface Dirty {
  files: Set<string>
  dirs: Set<string>
}

/**
 * The chunk replicas of one device: sparse files
 * `chunks/<partition>/<layer>/<index>` changed in place (pwrite), their
 * versions and the layer fences in a LevelDB (`chunk-index/`). Every write
 * and read of a chunk runs under its lock, in arrival order. Data goes to
 * the file before the version goes to the index, so a version never names
 * bytes that are not there; a write onto nothing (no chunk, or a hole)
 * first cuts the file to zeroes, so bytes left by a crash never show.
 */
export class ChunkDevice {
  readonly name: string
  private readonly root: string
  private readonly index: ChunkIndex
  private readonly logger: Logger
  private readonly fds = new FdCache()
  private readonly locks = new KeyedLock()
  private readonly dirSyncer = new DirSyncer()
  /** Layer directories made (or known) so far, with the parents whose entries their making changed. */
  private readonly dirs = new Map<string, Promise<string[]>>()
  /** Per layer, what a flush must fsync. */
  private readonly dirty = new Map<string, Dirty>()
  /** Writes under way per layer: a fence waits for them. */
  private readonly inFlight = new Map<string, Set<Promise<unknown>>>()

  private constructor (name: string, root: string, index: ChunkIndex, logger: Logger) {
    this.name = name
    this.root = root
    this.index = index
    this.logger = logger
  }

  static async open (config: DeviceConfig, components: { logger: Logger }): Promise<ChunkDevice> {
    const logger = components.logger.child({ device: config.name })
    await mkdir(join(config.path, 'chunks'), { recursive: true })
    const indexPath = join(config.path, 'chunk-index')
    const fresh = !(await exists(indexPath))
    const index = await ChunkIndex.open(indexPath)
    try {
      const marker = join(config.path, CLEAN_MARKER)
      if (await exists(marker)) {
        await unlink(marker)
        // Gone for good before any write, or a crash later would look clean.
        await fsyncDir(config.path)
      } else if (!fresh) {
        // The list of files written since their last flush died with the
        // process, and their bytes may still sit in the page cache: a later
        // flush would not know to fsync them. syncfs(2) once covers them all.
        await syncFilesystem(config.path)
        logger.info('chunk files synced after an unclean stop')
      }
    } catch (err) {
      await index.close()
      throw err
    }
    return new ChunkDevice(config.name, config.path, index, logger)
  }

  async write (w: NodeChunkWrite): Promise<void> {
    checkLayer(w.layer)
    checkIndex(w.index)
    checkChunkSize(w.chunkSize)
    checkWriteVersion(w.next)
    if (w.prev !== null) checkWriteVersion(w.prev)
    if (w.change.kind !== 'trim') checkRange(w.offset, changeLength(w.change), w.chunkSize)
    const running = this.locks.run(`${w.layer}/${w.index}`, async () => await this.apply(w))
    let writes = this.inFlight.get(w.layer)
    if (writes === undefined) this.inFlight.set(w.layer, writes = new Set())
    writes.add(running)
    try {
      await running
    } finally {
      writes.delete(running)
      if (writes.size === 0 && this.inFlight.get(w.layer) === writes) this.inFlight.delete(w.layer)
    }
  }

  async read (r: NodeChunkRead): Promise<Buffer> {
    checkLayer(r.layer)
    checkIndex(r.index)
    checkChunkSize(r.chunkSize)
    checkRange(r.offset, r.length, r.chunkSize)
    return await this.locks.run(`${r.layer}/${r.index}`, async () => {
      const stored = this.index.get(r.layer, r.index)
      if (stored === undefined || !sameVersion(stored.version, r.version)) {
        throw new ChunkStateError('VersionMismatch',
          `chunk ${r.layer}/${r.index} is at ${formatVersion(stored?.version ?? null)}, not ${formatVersion(r.version)}`, stateOf(stored))
      }
      checkSameSize(stored, r.chunkSize)
      const out = Buffer.allocUnsafe(r.length)
      if (stored.hole) return out.fill(0)
      const path = chunkFile(this.root, stored.partition, r.layer, r.index)
      try {
        await this.fds.use(path, false, async (file) => await readAt(file, out, r.offset))
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err
        this.logger.error({ layer: r.layer, index: r.index, path }, 'chunk file is missing')
        throw new StorageError('Corrupt', `chunk ${r.layer}/${r.index}: file is missing`)
      }
      return out
    })
  }

  /**
   * Raises the layer's fence: from now on writes below `epoch` are refused.
   * Writes that passed the old fence finish first, so a scan after this
   * sees them; the fence is synced before this resolves.
   */
  async fence (layer: string, epoch: number): Promise<number> {
    checkLayer(layer)
    if (!Number.isInteger(epoch) || epoch < 1 || epoch > FROZEN_EPOCH) {
      throw new StorageError('InvalidArgument', `bad fence epoch ${epoch}`)
    }
    const current = this.index.fence(layer)
    if (epoch < current) throw new StorageError('StaleEpoch', `layer ${layer} is fenced at epoch ${current}, above ${epoch}`)
    const op = this.index.raiseFence(layer, epoch)
    await Promise.allSettled(this.inFlight.get(layer) ?? [])
    await this.index.write([op], true)
    return epoch
  }

  async * scan (layer: string): AsyncGenerator<ScanEntry> {
    checkLayer(layer)
    for await (const { index, meta } of this.index.layer(layer)) {
      yield { index, version: meta.version, hole: meta.hole }
    }
  }

  /** fsyncs what the layer's writes changed since its last flush, then the index. */
  async flush (layer: string): Promise<void> {
    checkLayer(layer)
    const dirty = this.dirty.get(layer) ?? { files: new Set(), dirs: new Set() }
    this.dirty.delete(layer)
    try {
      const files = [...dirty.files]
      for (let i = 0; i < files.length; i += FLUSH_PARALLEL) {
        await Promise.all(files.slice(i, i + FLUSH_PARALLEL).map(async (path) => await this.syncFile(path)))
      }
      await Promise.all([...dirty.dirs].map(async (dir) => await this.dirSyncer.sync(dir)))
      await this.index.sync()
    } catch (err) {
      const now = this.dirtyOf(layer)
      for (const file of dirty.files) now.files.add(file)
      for (const dir of dirty.dirs) now.dirs.add(dir)
      throw err
    }
  }

  /**
   * Deletes every chunk of the layer. The layer is frozen first, durably, so
   * no write (in flight now, or a zombie writer's later) can bring a chunk
   * back; the frozen fence stays behind as the layer's tombstone.
   */
  async drop (layer: string): Promise<void> {
    await this.fence(layer, FROZEN_EPOCH)
    const chunks = join(this.root, 'chunks')
    // Every partition, not just those the index names: a crash between a
    // fresh chunk's data and its index entry leaves a file only this finds.
    for (const partition of await readdir(chunks)) {
      const dir = join(chunks, partition, layer)
      this.fds.forgetUnder(dir + sep)
      this.dirs.delete(dir)
      await rm(dir, { recursive: true, force: true })
    }
    let ops: ChunkIndexOp[] = []
    for await (const { index } of this.index.layer(layer)) {
      ops.push(this.index.delOp(layer, index))
      if (ops.length >= 1000) {
        await this.index.write(ops, false)
        ops = []
      }
    }
    await this.index.write(ops, true)
    this.dirty.delete(layer)
  }

  async close (): Promise<void> {
    // Dirty files are not tracked across restarts: only a close that synced them all may say so.
    for (const layer of [...this.dirty.keys()]) await this.flush(layer)
    await this.fds.close()
    await this.dirSyncer.close()
    await this.index.close()
    await writeFile(join(this.root, CLEAN_MARKER), '')
    await fsyncDir(this.root)
  }

  private async apply (w: NodeChunkWrite): Promise<void> {
    const fence = this.index.fence(w.layer)
    if (w.next.epoch < fence) {
      throw new StorageError('StaleEpoch', `layer ${w.layer} is fenced at epoch ${fence}, above the write's ${w.next.epoch}`)
    }
    const stored = this.index.get(w.layer, w.index)
    if (stored !== undefined) {
      checkSameSize(stored, w.chunkSize)
      if (compareVersions(w.next, stored.version) <= 0) {
        throw new ChunkStateError('Conflict',
          `chunk ${w.layer}/${w.index} is at ${formatVersion(stored.version)}, not older than ${formatVersion(w.next)}`, stateOf(stored))
      }
    }
    const data = stored === undefined || stored.hole ? null : stored.version
    const whole = w.change.kind === 'trim' || (w.offset === 0 && changeLength(w.change) === w.chunkSize)
    if (!whole && !sameVersion(w.prev, data)) {
      throw new ChunkStateError('StaleChunk',
        `chunk ${w.layer}/${w.index} is at ${formatVersion(data)}, the write follows ${formatVersion(w.prev)}`, stateOf(stored))
    }
    const ops: ChunkIndexOp[] = []
    if (w.next.epoch > fence) ops.push(this.index.raiseFence(w.layer, w.next.epoch))
    const meta: ChunkMeta = { version: w.next, hole: w.change.kind === 'trim', partition: w.partition, chunkSize: w.chunkSize }
    ops.push(this.index.putOp(w.layer, w.index, meta))
    const path = chunkFile(this.root, w.partition, w.layer, w.index)
    if (w.change.kind === 'trim') {
      // The hole is recorded before the file goes: a file a crash leaves
      // behind is cut to zeroes by the next write onto the hole.
      await this.index.write(ops, w.fua)
      this.fds.forget(path)
      this.dirty.get(w.layer)?.files.delete(path)
      await unlink(path).catch((err: unknown) => { if (!isErrno(err, 'ENOENT')) throw err })
      return
    }
    await this.applyData(w, path, data === null, whole)
    await this.index.write(ops, w.fua)
  }

  private async applyData (w: NodeChunkWrite, path: string, fresh: boolean, whole: boolean): Promise<void> {
    const dir = chunkDir(this.root, w.partition, w.layer)
    const changedDirs = fresh || whole ? [dir, ...await this.ensureDir(dir)] : []
    try {
      await this.fds.use(path, fresh || whole, async (file) => {
        const change = w.change
        if (change.kind === 'data') {
          // A whole-chunk write covers any leftover bytes; a partial one onto nothing must not show them.
          if (fresh && !whole) await cutToZeroes(file, w.chunkSize)
          await writeAt(file, change.data, w.offset)
        } else if (change.kind === 'zero') {
          if (fresh || whole) {
            await cutToZeroes(file, w.chunkSize)
          } else {
            await writeZeroes(file, w.offset, change.length)
          }
        }
        if (w.fua) await file.datasync()
      })
    } catch (err) {
      if (!isErrno(err, 'ENOENT')) throw err
      // The index names a version whose file is gone: say so, and the writer repairs it with the whole chunk.
      this.logger.error({ layer: w.layer, index: w.index, path }, 'chunk file is missing; asking for a repair')
      throw new ChunkStateError('StaleChunk', `chunk ${w.layer}/${w.index}: file is missing`, null)
    }
    if (w.fua) {
      await Promise.all(changedDirs.map(async (d) => await this.dirSyncer.sync(d)))
    } else {
      const dirty = this.dirtyOf(w.layer)
      dirty.files.add(path)
      for (const d of changedDirs) dirty.dirs.add(d)
    }
  }

  /** Makes the layer directory; resolves with the directories whose entries that changed. */
  private async ensureDir (dir: string): Promise<string[]> {
    let made = this.dirs.get(dir)
    if (made === undefined) {
      made = (async () => {
        const first = await mkdir(dir, { recursive: true })
        if (first === undefined) return []
        const changed: string[] = []
        for (let d = dir; ; d = dirname(d)) {
          changed.push(dirname(d))
          if (d === first) return changed
        }
      })()
      this.dirs.set(dir, made)
      made.catch(() => this.dirs.delete(dir))
    }
    return await made
  }

  private dirtyOf (layer: string): Dirty {
    let dirty = this.dirty.get(layer)
    if (dirty === undefined) this.dirty.set(layer, dirty = { files: new Set(), dirs: new Set() })
    return dirty
  }

  private async syncFile (path: string): Promise<void> {
    try {
      await this.fds.datasync(path)
    } catch (err) {
      // Trimmed or dropped since it was written: nothing left to make durable.
      if (!isErrno(err, 'ENOENT')) throw err
    }
  }
}

function changeLength (change: NodeChunkChange): number {
  return change.kind === 'data' ? change.data.length : change.kind === 'zero' ? change.length : 0
}

function checkSameSize (stored: ChunkMeta, chunkSize: number): void {
  if (stored.chunkSize !== chunkSize) {
    throw new StorageError('InvalidArgument', `the chunk size is ${stored.chunkSize}, not ${chunkSize}`)
  }
}

function stateOf (stored: ChunkMeta | undefined): ChunkState | null {
  return stored === undefined ? null : { version: stored.version, hole: stored.hole }
}
