import { ClassicLevel } from 'classic-level'
import { ControlError, type Compare, type ControlOp, type ControlRecord, type ControlStore } from './control-store.ts'

/** The store-wide revision lives under a key no caller can name (caller keys never start with NUL). */
const REVISION_KEY = '\u0000revision'

interface Stored {
  modRevision: number
  value: unknown
}

/**
 * The embedded control store: one classic-level DB owned by this process.
 * Commits run one at a time (compares and writes see no interleaving) and
 * are synced before they resolve, so an acknowledged change survives a crash.
 */
export class LevelControlStore implements ControlStore {
  private readonly path: string
  private db: ClassicLevel<string, string> | undefined
  private revision = 0
  private queue: Promise<unknown> = Promise.resolve()

  constructor (options: { path: string }) {
    this.path = options.path
  }

  async start (): Promise<void> {
    const db = new ClassicLevel<string, string>(this.path, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
    await db.open()
    this.db = db
    this.revision = Number(await db.get(REVISION_KEY) ?? 0)
  }

  async stop (): Promise<void> {
    await this.queue.catch(() => {})
    await this.db?.close()
    this.db = undefined
  }

  async get<T> (key: string): Promise<ControlRecord<T> | undefined> {
    const raw = await this.open().get(key)
    return raw === undefined ? undefined : toRecord<T>(key, raw)
  }

  async list<T> (prefix: string): Promise<Array<ControlRecord<T>>> {
    const out: Array<ControlRecord<T>> = []
    // U+FFFF sorts after every character a key can hold, so this bounds the prefix range.
    for await (const [key, raw] of this.open().iterator({ gte: prefix, lt: prefix + '\uffff' })) {
      if (key !== REVISION_KEY) out.push(toRecord<T>(key, raw))
    }
    return out
  }

  async commit (compares: Compare[], ops: ControlOp[]): Promise<number> {
    const run = this.queue.then(async () => await this.apply(compares, ops))
    this.queue = run.catch(() => {})
    return await run
  }

  private async apply (compares: Compare[], ops: ControlOp[]): Promise<number> {
    const db = this.open()
    for (const compare of compares) {
      const raw = await db.get(compare.key)
      const actual = raw === undefined ? 0 : (JSON.parse(raw) as Stored).modRevision
      if (actual !== compare.modRevision) {
        throw new ControlError('Conflict', `${compare.key} changed (revision ${actual}, expected ${compare.modRevision})`)
      }
    }
    const revision = this.revision + 1
    const batch = db.batch()
    for (const op of ops) {
      if (op.key === REVISION_KEY || op.key.startsWith('\u0000')) throw new TypeError(`reserved key ${JSON.stringify(op.key)}`)
      if (op.type === 'put') batch.put(op.key, JSON.stringify({ modRevision: revision, value: op.value } satisfies Stored))
      else batch.del(op.key)
    }
    batch.put(REVISION_KEY, String(revision))
    await batch.write({ sync: true })
    this.revision = revision
    return revision
  }

  private open (): ClassicLevel<string, string> {
    if (this.db === undefined) throw new ControlError('Unavailable', 'control store is not started')
    return this.db
  }
}

function toRecord<T> (key: string, raw: string): ControlRecord<T> {
  const stored = JSON.parse(raw) as Stored
  return { key, value: stored.value as T, modRevision: stored.modRevision }
}
