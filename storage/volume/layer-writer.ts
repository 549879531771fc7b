import { FROZEN_EPOCH, type ChunkStore, type ChunkVersion } from '../chunks/chunk-store.ts'
import { StorageError } from '../errors.ts'
import { VolumeError } from './errors.ts'

export interface LayerWriterComponents {
  chunks: ChunkStore
}

export interface LayerWriterOptions {
  /** A layer no one else knows yet. */
  layer: string
  chunkSize: number
}

/**
 * The epoch of a fresh layer's only writer: nobody else knows the layer's
 * id, so there is no lease to contend for and no older writer to fence.
 */
const WRITER_EPOCH = 1
/** Zeroes are skipped in blocks of this size (a file system block on the nodes)... */
const BLOCK = 4096
/** ...but a gap shorter than this is written as it is: a round trip costs more than a few blocks. */
const MIN_GAP = 64 * 1024
/** Chunks being written at once: bounds memory at this many chunks while keeping every node busy. */
const IN_FLIGHT = 4
const ZEROES = Buffer.alloc(BLOCK)

/**
 * Fills a fresh layer front to back from a stream of bytes (an image being
 * imported), then seals it: durable on every replica and frozen for good,
 * like a snapshot's layer. Blocks of zeroes are not written, so a sparse
 * image stays sparse (what is not written reads as zeroes).
 *
 * Not a VolumeDevice: writable devices are tied to a volume's lease, and a
 * strictly sequential writer needs neither its locks nor its chunk map.
 */
export class LayerWriter {
  readonly layer: string
  private readonly chunkSize: number
  private readonly chunks: ChunkStore
  private buffer: Buffer
  private filled = 0
  private index = 0
  private seq = 0
  private appended = 0
  private readonly pending = new Set<Promise<void>>()
  private failure: unknown

  private constructor (components: LayerWriterComponents, options: LayerWriterOptions) {
    this.chunks = components.chunks
    this.layer = options.layer
    this.chunkSize = options.chunkSize
    this.buffer = Buffer.allocUnsafe(this.chunkSize)
  }

  /** Fences the layer at the writer's epoch on every node first, so a node missing it cannot take a write unnoticed. */
  static async open (components: LayerWriterComponents, options: LayerWriterOptions): Promise<LayerWriter> {
    await storage(async () => await components.chunks.fence(options.layer, WRITER_EPOCH))
    return new LayerWriter(components, options)
  }

  /** Bytes taken so far. */
  get bytes (): number {
    return this.appended
  }

  /** Appends; resolves once the bytes are buffered or on their way (at most IN_FLIGHT chunks wait). */
  async write (data: Buffer): Promise<void> {
    this.throwIfFailed()
    for (let at = 0; at < data.length;) {
      const take = Math.min(this.chunkSize - this.filled, data.length - at)
      data.copy(this.buffer, this.filled, at, at + take)
      this.filled += take
      at += take
      if (this.filled === this.chunkSize) await this.dispatch()
    }
    this.appended += data.length
  }

  /** Writes what is left, makes the layer durable on its replicas and freezes it. */
  async seal (): Promise<void> {
    if (this.filled > 0) await this.dispatch()
    await this.settle()
    this.throwIfFailed()
    await storage(async () => await this.chunks.flush(this.layer))
    await storage(async () => await this.chunks.fence(this.layer, FROZEN_EPOCH))
  }

  /** Waits for the writes in flight (their outcome no longer matters: the layer will be dropped). */
  async abort (): Promise<void> {
    await this.settle()
  }

  private async dispatch (): Promise<void> {
    const index = this.index++
    const data = this.buffer.subarray(0, this.filled)
    this.buffer = Buffer.allocUnsafe(this.chunkSize)
    this.filled = 0
    const job: Promise<void> = this.writeChunk(index, data)
      .catch((err: unknown) => { this.failure ??= err })
      .finally(() => this.pending.delete(job))
    this.pending.add(job)
    while (this.pending.size >= IN_FLIGHT) await Promise.race(this.pending)
    this.throwIfFailed()
  }

  /** One chunk's non-zero runs, one after the other: each write follows the version the previous one made. */
  private async writeChunk (index: number, data: Buffer): Promise<void> {
    let prev: ChunkVersion | null = null
    for (const [start, end] of dataRuns(data)) {
      const next: ChunkVersion = { epoch: WRITER_EPOCH, seq: ++this.seq }
      await storage(async () => await this.chunks.write({
        chunk: { layer: this.layer, index }, chunkSize: this.chunkSize, write: { kind: 'data', offset: start, data: data.subarray(start, end) }, prev, next, fua: false
      }))
      prev = next
    }
  }

  private async settle (): Promise<void> {
    while (this.pending.size > 0) await Promise.race(this.pending)
  }

  private throwIfFailed (): void {
    if (this.failure !== undefined) throw this.failure
  }
}

/** [start, end) runs of `data` holding something other than zeroes, in BLOCK steps, gaps under MIN_GAP bridged. */
function dataRuns (data: Buffer): Array<[number, number]> {
  const runs: Array<[number, number]> = []
  for (let at = 0; at < data.length; at += BLOCK) {
    const end = Math.min(at + BLOCK, data.length)
    if (data.compare(ZEROES, 0, end - at, at, end) === 0) continue
    const last = runs.at(-1)
    if (last !== undefined && at - last[1] < MIN_GAP) last[1] = end
    else runs.push([at, end])
  }
  return runs
}

/** Chunk-store failures are the volume API's Unavailable: too few nodes answered. */
async function storage<T> (op: () => Promise<T>): Promise<T> {
  try {
    return await op()
  } catch (err) {
    if (err instanceof StorageError) throw new VolumeError('Unavailable', `storage nodes: ${err.message}`, { cause: err })
    throw err
  }
}
