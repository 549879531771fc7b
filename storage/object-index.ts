import { ClassicLevel } from 'classic-level'
import type { ObjectMeta } from './object-file-format.ts'

/** What the index knows of a name's newest replica file. */
export interface IndexEntry extends ObjectMeta {
  /** Base name of the file in the partition directory. */
  file: string
}

/** Never stored: a synced delete of it is how syncAndClose() flushes the log. */
const SYNC_KEY = '~sync'

type BatchOp = { type: 'put', key: string, value: string } | { type: 'del', key: string }

interface Pending {
  op: BatchOp
  sync: boolean
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * Per-device LevelDB of the newest version of each name, keyed
 * `<partition, 8 hex>/<md5(name)>` so one partition is one key range.
 *
 * The replica files are the truth and the index a cache of them: writes are
 * not synced (the data file and its directory already were), and a device
 * that was not shut down cleanly is reconciled from its files on open.
 * Writes that arrive while a batch is being written go out together in the
 * next one.
 */
export class ObjectIndex {
  private readonly db: ClassicLevel<string, string>
  private pending: Pending[] = []
  private writing = false

  private constructor (db: ClassicLevel<string, string>) {
    this.db = db
  }

  static async open (path: string): Promise<ObjectIndex> {
    const db = new ClassicLevel<string, string>(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    await db.open()
    return new ObjectIndex(db)
  }

  /**
   * Synchronous on purpose: a point lookup is served from LevelDB's memtable
   * or block cache in microseconds, far less than a hop through libuv's
   * thread pool, which every put would otherwise take twice.
   */
  get (partition: number, hash: string): IndexEntry | undefined {
    const value = this.db.getSync(indexKey(partition, hash))
    return value === undefined ? undefined : decode(value)
  }

  async put (partition: number, hash: string, entry: IndexEntry): Promise<void> {
    await this.enqueue({ type: 'put', key: indexKey(partition, hash), value: encode(entry) })
  }

  async del (partition: number, hash: string): Promise<void> {
    await this.enqueue({ type: 'del', key: indexKey(partition, hash) })
  }

  /** Every entry of one partition, in hash order (what a replicator compares). */
  async * partition (partition: number): AsyncGenerator<{ hash: string, entry: IndexEntry }> {
    const prefix = partitionPrefix(partition)
    // '0' is the character after '/', so this range is exactly the prefix.
    for await (const { hash, entry } of this.range({ gte: prefix, lt: `${prefix.slice(0, -1)}0` })) {
      yield { hash, entry }
    }
  }

  /** Every entry, partition by partition. */
  async * entries (): AsyncGenerator<{ partition: number, hash: string, entry: IndexEntry }> {
    yield * this.range({})
  }

  /**
   * Forces every earlier (unsynced) write to disk, then closes: a synced
   * write flushes the whole LevelDB log, so one is enough.
   */
  async syncAndClose (): Promise<void> {
    await this.enqueue({ type: 'del', key: SYNC_KEY }, true)
    await this.db.close()
  }

  /** Closes without the final sync, for a device that failed to open. */
  async close (): Promise<void> {
    await this.db.close()
  }

  private async * range (bounds: { gte?: string, lt?: string }):
  AsyncGenerator<{ partition: number, hash: string, entry: IndexEntry }> {
    const iterator = this.db.iterator(bounds)
    try {
      for (;;) {
        const rows = await iterator.nextv(1000)
        if (rows.length === 0) return
        for (const [key, value] of rows) {
          const slash = key.indexOf('/')
          yield { partition: Number.parseInt(key.slice(0, slash), 16), hash: key.slice(slash + 1), entry: decode(value) }
        }
      }
    } finally {
      await iterator.close()
    }
  }

  private async enqueue (op: BatchOp, sync = false): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.pending.push({ op, sync, resolve, reject })
      if (!this.writing) void this.drain()
    })
  }

  private async drain (): Promise<void> {
    this.writing = true
    while (this.pending.length > 0) {
      const batch = this.pending
      this.pending = []
      try {
        await this.db.batch(batch.map((p) => p.op), { sync: batch.some((p) => p.sync) })
        for (const p of batch) p.resolve()
      } catch (err) {
        for (const p of batch) p.reject(err)
      }
    }
    this.writing = false
  }
}

function partitionPrefix (partition: number): string {
  return `${partition.toString(16).padStart(8, '0')}/`
}

function indexKey (partition: number, hash: string): string {
  return partitionPrefix(partition) + hash
}

function encode (entry: IndexEntry): string {
  return JSON.stringify({ ...entry, timestamp: entry.timestamp.toString() })
}

function decode (value: string): IndexEntry {
  const raw = JSON.parse(value) as Omit<IndexEntry, 'timestamp'> & { timestamp: string }
  return { ...raw, timestamp: BigInt(raw.timestamp) }
}
