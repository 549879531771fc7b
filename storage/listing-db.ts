import { ClassicLevel, type Iterator } from 'classic-level'

/** Reads and writes of one transaction; reads see its own and earlier writes of the batch. */
export interface ListingTx {
  get (key: Buffer): string | undefined
  put (key: Buffer, value: string): void
}

interface Pending {
  mutate: (tx: ListingTx) => unknown
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
}

export type ListingIterator = Iterator<ClassicLevel<Buffer, string>, Buffer, string>

export interface IteratorBounds {
  gt?: Buffer
  gte?: Buffer
  lt?: Buffer
  lte?: Buffer
  reverse?: boolean
}

/**
 * A device's listing DB. Unlike the object index (a cache rebuilt from the
 * replica files) listings are the only copy of what they hold, so every write
 * is synced before it is acknowledged. Transactions are read-modify-write
 * functions run one after another, synchronously, against the DB plus the
 * writes of the batch so far; all that arrive while a batch is being synced
 * go out in the next one, so one fsync serves many concurrent updates.
 */
export class ListingDb {
  private readonly db: ClassicLevel<Buffer, string>
  private pending: Pending[] = []
  private writing = false

  private constructor (db: ClassicLevel<Buffer, string>) {
    this.db = db
  }

  static async open (path: string): Promise<ListingDb> {
    const db = new ClassicLevel<Buffer, string>(path, { keyEncoding: 'buffer', valueEncoding: 'utf8' })
    await db.open()
    return new ListingDb(db)
  }

  /** Synchronous: a point read from the memtable or block cache beats a thread-pool hop. */
  get (key: Buffer): string | undefined {
    return this.db.getSync(key)
  }

  iterator (bounds: IteratorBounds): ListingIterator {
    return this.db.iterator(bounds)
  }

  /** Runs `mutate` in the next batch; resolves with its result once the batch is durable. */
  async transact<T> (mutate: (tx: ListingTx) => T): Promise<T> {
    return await new Promise<T>((resolve, reject) => {
      this.pending.push({ mutate, resolve: resolve as (value: unknown) => void, reject })
      if (!this.writing) void this.drain()
    })
  }

  async close (): Promise<void> {
    await this.db.close()
  }

  private async drain (): Promise<void> {
    this.writing = true
    while (this.pending.length > 0) {
      const batch = this.pending
      this.pending = []
      const written = new Map<string, { key: Buffer, value: string }>()
      const outcomes = batch.map((p) => run(p, this.db, written))
      try {
        if (written.size > 0) {
          await this.db.batch([...written.values()].map(({ key, value }) => ({ type: 'put', key, value })), { sync: true })
        }
        for (const [i, p] of batch.entries()) {
          const outcome = outcomes[i]!
          if (outcome.ok) p.resolve(outcome.value)
          else p.reject(outcome.error)
        }
      } catch (err) {
        for (const p of batch) p.reject(err)
      }
    }
    this.writing = false
  }
}

type Outcome = { ok: true, value: unknown } | { ok: false, error: unknown }

/** One transaction; its writes join the batch only when it succeeds. */
function run (pending: Pending, db: ClassicLevel<Buffer, string>, written: Map<string, { key: Buffer, value: string }>): Outcome {
  const own = new Map<string, { key: Buffer, value: string }>()
  const tx: ListingTx = {
    get: (key) => {
      const id = key.toString('latin1')
      return own.get(id)?.value ?? written.get(id)?.value ?? db.getSync(key)
    },
    put: (key, value) => { own.set(key.toString('latin1'), { key, value }) }
  }
  try {
    const value = pending.mutate(tx)
    for (const [id, write] of own) written.set(id, write)
    return { ok: true, value }
  } catch (error) {
    return { ok: false, error }
  }
}
