import type { Logger } from '../../lib/logger.ts'
import type { ChunkState, ChunkStore, ChunkVersion, ChunkWrite } from '../chunks/chunk-store.ts'
import { StorageError } from '../errors.ts'
import {
  BlockError, type BlockDevice, type BlockExtent, type BlockSizes, type WriteOptions, type ZeroOptions
} from './block-device.ts'
import { ChunkWriteQueue, type QueuedWrite } from './chunk-write-queue.ts'
import type { LayerChain } from './layer-chain.ts'
import { ReadAhead } from './read-ahead.ts'
import type { Lease } from './lease.ts'
import { SECTOR } from './records.ts'

export interface VolumeDeviceComponents {
  chunks: ChunkStore
  logger: Logger
}

export interface VolumeDeviceOptions {
  size: number
  chunkSize: number
  chain: LayerChain
  /** Present for a writable device: its epoch stamps every write. */
  lease?: Lease
  /** Called once close() has released everything. */
  onClosed?: () => void
}

/** The largest single request: qemu and nbdcopy use at most 32 MiB. */
const MAX_REQUEST = 32 * 1024 * 1024
/** A read that raced a write of the same chunk retries with the newer version this many times. */
const READ_RETRIES = 5

/** One request's share of one chunk. */
interface Piece {
  index: number
  /** Offset within the chunk. */
  offset: number
  length: number
  /** Offset within the request. */
  at: number
}

/**
 * A volume (or snapshot) opened for I/O: the BlockDevice the NBD and iSCSI
 * targets serve. It keeps the chain's chunk maps in memory, gives each write
 * of a chunk the next version (writes to one chunk go one at a time, so the
 * replicas see an unbroken version chain), copies a chunk up from the layer
 * below on its first write, and lets the chunk store replicate.
 */
export class VolumeDevice implements BlockDevice {
  readonly size: number
  readonly readOnly: boolean
  readonly blockSizes: BlockSizes
  private readonly chunkSize: number
  private readonly chain: LayerChain
  private readonly lease: Lease | undefined
  private readonly onClosed: (() => void) | undefined
  private readonly chunks: ChunkStore
  private readonly logger: Logger
  private readonly queue: ChunkWriteQueue
  private readonly ahead = new ReadAhead()
  private seq = 0
  private inFlight = 0
  private idle: (() => void) | undefined
  private closing = false
  /** Settles once close() has released everything; undefined until close() starts. */
  private closed: Promise<void> | undefined
  private readonly closeWaiters: Array<() => void> = []
  private dirty = false

  constructor (components: VolumeDeviceComponents, options: VolumeDeviceOptions) {
    this.chunks = components.chunks
    this.logger = components.logger
    this.size = options.size
    this.chunkSize = options.chunkSize
    this.chain = options.chain
    this.lease = options.lease
    this.onClosed = options.onClosed
    this.readOnly = options.lease === undefined
    this.blockSizes = { minimum: SECTOR, preferred: 4096, maximum: MAX_REQUEST }
    this.queue = new ChunkWriteQueue(async (index, writes) => await this.applyWrites(index, writes), this.chunkSize)
  }

  async read (offset: number, length: number): Promise<Buffer> {
    return await this.track(async () => {
      this.check(offset, length, false)
      const sequential = this.ahead.sequential(offset, length)
      const pieces = this.pieces(offset, length)
      if (pieces.length === 1) {
        const { index, offset: within } = pieces[0]!
        const data = sequential ? await this.readAhead(index, within, length) : await this.readPiece(index, within, length)
        return data ?? Buffer.alloc(length)
      }
      const out = Buffer.alloc(length)
      await Promise.all(pieces.map(async (piece) => {
        const data = await this.readPiece(piece.index, piece.offset, piece.length)
        if (data !== undefined) data.copy(out, piece.at)
      }))
      return out
    })
  }

  async write (offset: number, data: Buffer, options: WriteOptions): Promise<void> {
    await this.track(async () => {
      this.check(offset, data.length, true)
      await Promise.all(this.pieces(offset, data.length).map(async (piece) => await this.queue.enqueue(piece.index,
        { kind: 'data', offset: piece.offset, data: data.subarray(piece.at, piece.at + piece.length), fua: options.fua })))
    })
  }

  async writeZeroes (offset: number, length: number, options: ZeroOptions): Promise<void> {
    await this.track(async () => {
      this.check(offset, length, true)
      await Promise.all(this.pieces(offset, length).map(async (piece) => await this.queue.enqueue(piece.index,
        { kind: 'zero', offset: piece.offset, length: piece.length, mayTrim: options.mayTrim, fua: options.fua })))
    })
  }

  async trim (offset: number, length: number, options: WriteOptions): Promise<void> {
    await this.writeZeroes(offset, length, { ...options, mayTrim: true, fastOnly: false })
  }

  async flush (): Promise<void> {
    await this.track(async () => {
      if (this.readOnly || !this.dirty) return
      this.dirty = false
      try {
        await this.chunks.flush(this.chain.top.id)
      } catch (err) {
        this.dirty = true
        throw this.ioError('flush', err)
      }
    })
  }

  async cache (offset: number, length: number): Promise<void> {
    // Advisory, and nothing here caches chunk bytes: validating the range is all there is to do.
    this.check(offset, length, false)
  }

  async extents (offset: number, length: number): Promise<BlockExtent[]> {
    this.check(offset, length, false)
    const out: BlockExtent[] = []
    for (const piece of this.pieces(offset, length)) {
      const found = this.chain.find(piece.index)
      const hole = found === undefined || found.state.hole
      const last = out.at(-1)
      if (last !== undefined && last.hole === hole) last.length += piece.length
      else out.push({ length: piece.length, hole, zero: hole })
    }
    return out
  }

  /**
   * Copies every chunk the top layer still inherits into it, so the chain
   * below is no longer needed. Reports progress as (done, total) chunks.
   */
  async copyUpAll (progress: (done: number, total: number) => void): Promise<void> {
    const indexes = this.chain.inheritedIndexes()
    let done = 0
    progress(done, indexes.length)
    for (const index of indexes) {
      await this.track(async () => { await this.queue.enqueue(index, { kind: 'copy-up' }) })
      progress(++done, indexes.length)
    }
    await this.flush()
  }

  async close (): Promise<void> {
    this.closed ??= this.release()
    for (const notify of this.closeWaiters.splice(0)) notify()
    await this.closed
  }

  /**
   * Resolves once this handle is closed, or after `graceMs` if nobody has
   * started closing it by then (it is in use: the caller will be refused).
   */
  async settled (graceMs: number): Promise<void> {
    const closing = this.closed ?? await new Promise<Promise<void> | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), graceMs)
      this.closeWaiters.push(() => {
        clearTimeout(timer)
        resolve(this.closed)
      })
    })
    await closing
  }

  private async release (): Promise<void> {
    this.closing = true
    if (this.inFlight > 0) await new Promise<void>((resolve) => { this.idle = resolve })
    try {
      if (this.dirty && this.lease?.isLost !== true) await this.chunks.flush(this.chain.top.id)
    } catch (err) {
      this.logger.warn({ err, layer: this.chain.top.id }, 'flush on close failed')
    } finally {
      try {
        await this.lease?.release()
      } finally {
        this.onClosed?.()
      }
    }
  }

  private async track<T> (op: () => Promise<T>): Promise<T> {
    if (this.closing) throw new BlockError('ShuttingDown', 'the device is closing')
    this.inFlight++
    try {
      return await op()
    } finally {
      if (--this.inFlight === 0 && this.idle !== undefined) this.idle()
    }
  }

  private check (offset: number, length: number, write: boolean): void {
    if (write && this.readOnly) throw new BlockError('ReadOnly', 'a snapshot is read-only')
    if (write && this.lease?.isLost === true) throw new BlockError('Fenced', 'another writer took this volume over')
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new BlockError('InvalidArgument', `bad range ${offset}+${length}`)
    }
    if (offset + length > this.size) throw new BlockError('OutOfRange', `range ${offset}+${length} ends past ${this.size}`)
    if (offset % SECTOR !== 0 || length % SECTOR !== 0) {
      throw new BlockError('InvalidArgument', `range ${offset}+${length} is not ${SECTOR}-byte aligned`)
    }
  }

  private pieces (offset: number, length: number): Piece[] {
    const out: Piece[] = []
    for (let at = 0; at < length;) {
      const position = offset + at
      const index = Math.floor(position / this.chunkSize)
      const within = position - index * this.chunkSize
      const take = Math.min(this.chunkSize - within, length - at)
      out.push({ index, offset: within, length: take, at })
      at += take
    }
    return out
  }

  /** The bytes, or undefined when the range reads as zeroes. */
  private async readPiece (index: number, offset: number, length: number): Promise<Buffer | undefined> {
    return (await this.readVersioned(index, offset, length))?.data
  }

  /** A small read that continues the previous one: served from, or fetched with, the read-ahead window. */
  private async readAhead (index: number, offset: number, length: number): Promise<Buffer | undefined> {
    const found = this.chain.find(index)
    if (found === undefined || found.state.hole) return undefined
    const hit = this.ahead.lookup(found.layer.id, index, found.state.version, offset, length)
    if (hit !== undefined) return hit
    const read = await this.readVersioned(index, offset, this.ahead.span(offset, length, this.chunkSize))
    if (read === undefined) return undefined
    this.ahead.keep({ layer: read.layer, index, version: read.version, offset, data: read.data })
    return read.data.subarray(0, length)
  }

  /** The bytes with the layer and version they were read at, or undefined when the range reads as zeroes. */
  private async readVersioned (index: number, offset: number, length: number):
  Promise<{ data: Buffer, layer: string, version: ChunkVersion } | undefined> {
    for (let attempt = 0; ; attempt++) {
      const found = this.chain.find(index)
      if (found === undefined || found.state.hole) return undefined
      try {
        const { id: layer } = found.layer
        const { version } = found.state
        return { data: await this.chunks.read({ layer, index }, this.chunkSize, version, offset, length), layer, version }
      } catch (err) {
        // A write of this chunk landed between our lookup and the read: look again.
        const raced = err instanceof StorageError && err.code === 'VersionMismatch' && this.chain.find(index)?.state !== found.state
        if (!raced || attempt >= READ_RETRIES) throw this.ioError('read', err)
      }
    }
  }

  /** One turn of a chunk's write queue: a single write, or contiguous data writes merged into one. */
  private async applyWrites (index: number, writes: QueuedWrite[]): Promise<void> {
    const first = writes[0]!
    if (first.kind === 'copy-up') {
      if (this.chain.top.chunks.has(index)) return
      const base = await this.readPiece(index, 0, this.chunkSize)
      await this.commit(index, null, { kind: 'data', offset: 0, data: base ?? Buffer.alloc(this.chunkSize) }, false)
    } else if (first.kind === 'zero') {
      await this.zeroPiece(index, first.offset, first.length, first.mayTrim, first.fua)
    } else {
      const merged = writes.filter((w): w is typeof first => w.kind === 'data')
      const data = merged.length === 1 ? first.data : Buffer.concat(merged.map((w) => w.data))
      await this.writeData(index, first.offset, data, merged.some((w) => w.fua))
    }
  }

  private async writeData (index: number, offset: number, data: Buffer, fua: boolean): Promise<void> {
    const own = this.chain.top.chunks.get(index)
    if (own !== undefined) {
      await this.commit(index, own.hole ? null : own.version, { kind: 'data', offset, data }, fua)
      return
    }
    const below = this.chain.inheritsData(index)
    if (below === undefined || (offset === 0 && data.length === this.chunkSize)) {
      await this.commit(index, null, { kind: 'data', offset, data }, fua)
      return
    }
    // First write to an inherited chunk: copy it up whole with the new bytes in place.
    const base = await this.readPiece(index, 0, this.chunkSize) ?? Buffer.alloc(this.chunkSize)
    data.copy(base, offset)
    await this.commit(index, null, { kind: 'data', offset: 0, data: base }, fua)
  }

  private async zeroPiece (index: number, offset: number, length: number, mayTrim: boolean, fua: boolean): Promise<void> {
    const found = this.chain.find(index)
    if (found === undefined || found.state.hole) return
    const own = this.chain.top.chunks.get(index)
    const whole = length === this.chunkSize
    if (whole && (mayTrim || own === undefined)) {
      // A hole in the top layer reads as zeroes and shadows the chunk below.
      await this.commit(index, own === undefined || own.hole ? null : own.version, { kind: 'trim' }, fua)
    } else if (own !== undefined) {
      await this.commit(index, own.version, { kind: 'zero', offset, length }, fua)
    } else {
      const base = await this.readPiece(index, 0, this.chunkSize) ?? Buffer.alloc(this.chunkSize)
      base.fill(0, offset, offset + length)
      await this.commit(index, null, { kind: 'data', offset: 0, data: base }, fua)
    }
  }

  /** Writes one chunk of the top layer at the next version; the caller holds the chunk's turn in the queue. */
  private async commit (index: number, prev: ChunkVersion | null, write: ChunkWrite, fua: boolean): Promise<void> {
    const lease = this.lease
    if (lease === undefined) throw new BlockError('ReadOnly', 'a snapshot is read-only')
    if (lease.isLost) throw new BlockError('Fenced', 'another writer took this volume over')
    const next: ChunkVersion = { epoch: lease.epoch, seq: ++this.seq }
    this.dirty = true
    try {
      await this.chunks.write({ chunk: { layer: this.chain.top.id, index }, chunkSize: this.chunkSize, write, prev, next, fua })
    } catch (err) {
      if (err instanceof StorageError && err.code === 'StaleEpoch') {
        throw new BlockError('Fenced', 'another writer took this volume over', { cause: err })
      }
      await this.relearn(index, next, write.kind === 'trim')
      throw this.ioError('write', err)
    }
    this.chain.top.chunks.set(index, { version: next, hole: write.kind === 'trim' })
  }

  /**
   * After a failed write some replicas may hold `next` and others not: ask
   * the nodes what the chunk is now, so later reads and writes build on a
   * version that exists. If they cannot say, assume the write landed.
   */
  private async relearn (index: number, next: ChunkVersion, hole: boolean): Promise<void> {
    const top = this.chain.top
    try {
      const state = (await this.chunks.scan(top.id)).get(index)
      if (state === undefined) top.chunks.delete(index)
      else top.chunks.set(index, state)
    } catch {
      top.chunks.set(index, { version: next, hole } satisfies ChunkState)
    }
  }

  private ioError (what: string, err: unknown): BlockError {
    if (err instanceof BlockError) return err
    this.logger.warn({ err, layer: this.chain.top.id }, `volume ${what} failed`)
    return new BlockError('Io', `${what} failed: ${(err as Error).message}`, { cause: err })
  }
}
