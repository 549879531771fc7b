import { ClassicLevel } from 'classic-level'
import type { ChunkVersion } from './chunk-store.ts'

/** What a device knows of one chunk replica. */
export interface ChunkMeta {
  version: ChunkVersion
  hole: boolean
  partition: number
  chunkSize: number
}

/** Never stored: a synced delete of it forces every earlier write to disk. */
const SYNC_KEY = '~sync'
const META_BYTES = 21
const HOLE = 1

/** One change for write(), made by the *Op methods so callers can batch their own changes together. */
export type ChunkIndexOp = { type: 'put', key: string, value: Buffer } | { type: 'del', key: string }

interface Pending {
  ops: ChunkIndexOp[]
  sync: boolean
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * Per-device LevelDB of chunk versions and layer fences:
 *
 *   c/<layer>/<index, 8 hex>  ->  21 bytes: flags, epoch, seq, partition, chunk size
 *   f/<layer>                 ->  fence epoch (uint32)
 *
 * so one layer's chunks are one key range in index order (Scan, Drop). Unlike
 * the object index this is not a cache of something else: chunk files carry
 * no header, the version lives only here. Writes are batched with whatever
 * arrives in the same tick or while a batch is written and are not synced unless asked (FUA,
 * flush, fence): LevelDB hands each batch to the kernel before it resolves,
 * so a killed process loses nothing acknowledged.
 */
export class ChunkIndex {
  private readonly db: ClassicLevel<string, Buffer>
  /** Fences are read by every write: kept in memory once looked up. */
  private readonly fences = new Map<string, number>()
  private pending: Pending[] = []
  private writing = false

  private constructor (db: ClassicLevel<string, Buffer>) {
    this.db = db
  }

  static async open (path: string): Promise<ChunkIndex> {
    const db = new ClassicLevel<string, Buffer>(path, { keyEncoding: 'utf8', valueEncoding: 'buffer' })
    await db.open()
    return new ChunkIndex(db)
  }

  /** Synchronous: a memtable or block-cache hit costs far less than a thread-pool hop. */
  get (layer: string, index: number): ChunkMeta | undefined {
    const value = this.db.getSync(chunkKey(layer, index))
    return value === undefined ? undefined : decodeMeta(value)
  }

  fence (layer: string): number {
    let epoch = this.fences.get(layer)
    if (epoch === undefined) {
      const value = this.db.getSync(fenceKey(layer))
      epoch = value === undefined ? 0 : value.readUInt32BE(0)
      this.fences.set(layer, epoch)
    }
    return epoch
  }

  /**
   * Raises the fence in memory at once (later writes see it) and returns the
   * batch op that persists it, for the caller to write with its own change.
   */
  raiseFence (layer: string, epoch: number): ChunkIndexOp {
    this.fences.set(layer, epoch)
    const value = Buffer.alloc(4)
    value.writeUInt32BE(epoch)
    return { type: 'put', key: fenceKey(layer), value }
  }

  putOp (layer: string, index: number, meta: ChunkMeta): ChunkIndexOp {
    return { type: 'put', key: chunkKey(layer, index), value: encodeMeta(meta) }
  }

  delOp (layer: string, index: number): ChunkIndexOp {
    return { type: 'del', key: chunkKey(layer, index) }
  }

  async write (ops: ChunkIndexOp[], sync: boolean): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.pending.push({ ops, sync, resolve, reject })
      if (!this.writing) {
        this.writing = true
        // After this turn's microtasks: every write of one arriving batch of ops goes in one LevelDB batch.
        process.nextTick(() => { void this.drain() })
      }
    })
  }

  /** Forces every earlier write to disk (one synced write syncs the whole log). */
  async sync (): Promise<void> {
    await this.write([{ type: 'del', key: SYNC_KEY }], true)
  }

  /** Every chunk of a layer in index order. */
  async * layer (layer: string): AsyncGenerator<{ index: number, meta: ChunkMeta }> {
    const prefix = `c/${layer}/`
    // '0' follows '/', so this is exactly the prefix.
    const iterator = this.db.iterator({ gte: prefix, lt: `c/${layer}0` })
    try {
      for (;;) {
        const rows = await iterator.nextv(1000)
        if (rows.length === 0) return
        for (const [key, value] of rows) {
          yield { index: Number.parseInt(key.slice(prefix.length), 16), meta: decodeMeta(value) }
        }
      }
    } finally {
      await iterator.close()
    }
  }

  async close (): Promise<void> {
    await this.sync()
    await this.db.close()
  }

  private async drain (): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending
      this.pending = []
      try {
        await this.db.batch(batch.flatMap((p) => p.ops), { sync: batch.some((p) => p.sync) })
        for (const p of batch) p.resolve()
      } catch (err) {
        for (const p of batch) p.reject(err)
      }
    }
    this.writing = false
  }
}

function chunkKey (layer: string, index: number): string {
  return `c/${layer}/${index.toString(16).padStart(8, '0')}`
}

function fenceKey (layer: string): string {
  return `f/${layer}`
}

function encodeMeta (meta: ChunkMeta): Buffer {
  const value = Buffer.allocUnsafe(META_BYTES)
  value.writeUInt8(meta.hole ? HOLE : 0, 0)
  value.writeUInt32BE(meta.version.epoch, 1)
  value.writeDoubleBE(meta.version.seq, 5)
  value.writeUInt32BE(meta.partition, 13)
  value.writeUInt32BE(meta.chunkSize, 17)
  return value
}

function decodeMeta (value: Buffer): ChunkMeta {
  return {
    hole: (value.readUInt8(0) & HOLE) !== 0,
    version: { epoch: value.readUInt32BE(1), seq: value.readDoubleBE(5) },
    partition: value.readUInt32BE(13),
    chunkSize: value.readUInt32BE(17)
  }
}
