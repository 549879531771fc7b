import { StorageError } from '../../storage/index.ts'
import { KeyedLock } from '../../storage/keyed-lock.ts'
import type { ChunkVersion, ChunkWrite, ReplicatedChunkStore } from '../../storage/chunks/index.ts'
import { bytes } from './chunk-cluster.ts'

/**
 * One layer written as a volume writes it (one write per chunk at a time,
 * each at the next version following the last), with the bytes every chunk
 * should hold.
 */
export class ChunkModel {
  readonly layer: string
  readonly chunkSize: number
  readonly chunks = new Map<number, { data: Buffer, version: ChunkVersion | null }>()
  private readonly store: ReplicatedChunkStore
  private readonly locks = new KeyedLock()
  private readonly epoch: number
  private seq = 0

  constructor (store: ReplicatedChunkStore, layer: string, chunkSize: number, epoch = 1) {
    this.store = store
    this.layer = layer
    this.chunkSize = chunkSize
    this.epoch = epoch
  }

  async write (index: number, write: ChunkWrite, fua = false): Promise<ChunkVersion> {
    return await this.locks.run(String(index), async () => {
      const chunk = this.chunks.get(index) ?? { data: Buffer.alloc(this.chunkSize), version: null }
      const next = { epoch: this.epoch, seq: ++this.seq }
      await this.store.write({ chunk: { layer: this.layer, index }, chunkSize: this.chunkSize, write, prev: chunk.version, next, fua })
      if (write.kind === 'data') write.data.copy(chunk.data, write.offset)
      else if (write.kind === 'zero') chunk.data.fill(0, write.offset, write.offset + write.length)
      else chunk.data.fill(0)
      chunk.version = write.kind === 'trim' ? null : next
      this.chunks.set(index, chunk)
      return next
    })
  }

  /** A partial write of pseudo-random bytes at a pseudo-random odd place. */
  async scribble (index: number, seed: number, fua = false): Promise<ChunkVersion> {
    const length = 1 + (seed * 7919) % 3000
    const offset = (seed * 104729) % (this.chunkSize - length)
    return await this.write(index, { kind: 'data', offset, data: bytes(length, seed) }, fua)
  }

  async whole (index: number, seed: number): Promise<ChunkVersion> {
    return await this.write(index, { kind: 'data', offset: 0, data: bytes(this.chunkSize, seed) })
  }

  /** Reads every chunk back through the store; resolves with the indexes whose bytes differ. */
  async verify (): Promise<number[]> {
    const wrong: number[] = []
    for (const [index, chunk] of this.chunks) {
      if (chunk.version === null) continue
      const data = await this.store.read({ layer: this.layer, index }, this.chunkSize, chunk.version, 0, this.chunkSize)
      if (!data.equals(chunk.data)) wrong.push(index)
    }
    return wrong
  }

  version (index: number): ChunkVersion {
    const version = this.chunks.get(index)?.version
    if (version == null) throw new StorageError('NotFound', `chunk ${index} was never written`)
    return version
  }

  data (index: number): Buffer {
    return this.chunks.get(index)?.data ?? Buffer.alloc(this.chunkSize)
  }
}
