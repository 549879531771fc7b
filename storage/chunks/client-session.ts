import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js'
import type { ChunkStoreClient } from '../../proto/gen/ringstack/block/v1/ChunkStore.ts'
import type { Op } from '../../proto/gen/ringstack/block/v1/Op.ts'
import type { OpBatch } from '../../proto/gen/ringstack/block/v1/OpBatch.ts'
import type { Result__Output } from '../../proto/gen/ringstack/block/v1/Result.ts'
import type { ResultBatch__Output } from '../../proto/gen/ringstack/block/v1/ResultBatch.ts'
import { StorageError } from '../errors.ts'
import { fromServiceError } from '../grpc-status.ts'

/** A batch of ops stops growing at this many data bytes (one big write still goes, alone). */
const MAX_BATCH_BYTES = 1024 * 1024

interface Pending {
  resolve: (result: Result__Output) => void
  reject: (err: StorageError) => void
  deadline: number
}

/**
 * The client's half of one multiplexed session with a node: ops get an id
 * and go out gathered into one message per tick (everything a burst of
 * callers issued together), results are matched back by id in whatever
 * order they come. An op unanswered after `timeoutMs` fails as Unavailable
 * (a frozen node must not hang a write); a late answer is dropped. When the
 * stream breaks or the node ends it, every unanswered op fails as
 * Unavailable and the session is over: the owner opens a new one.
 */
export class ClientSession {
  private readonly call: ClientDuplexStream<OpBatch, ResultBatch__Output>
  private readonly address: string
  private readonly timeoutMs: number
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private queue: Op[] = []
  private scheduled = false
  private blocked = false
  private over: StorageError | undefined
  private sweeper: NodeJS.Timeout | undefined

  constructor (client: ChunkStoreClient, address: string, timeoutMs: number) {
    this.address = address
    this.timeoutMs = timeoutMs
    this.call = client.Session()
    this.call.on('data', (batch: ResultBatch__Output) => {
      for (const result of batch.results) {
        const pending = this.pending.get(result.id)
        if (pending === undefined) continue
        this.pending.delete(result.id)
        pending.resolve(result)
      }
    })
    this.call.on('error', (err: ServiceError) => this.end(fromServiceError(err, address)))
    this.call.on('end', () => this.end(new StorageError('Unavailable', `${address}: the node ended the session`)))
  }

  /** False once the stream is over; a new session is needed. */
  get open (): boolean {
    return this.over === undefined
  }

  async send (op: Omit<Op, 'id'>): Promise<Result__Output> {
    if (this.over !== undefined) throw this.over
    const id = this.nextId
    this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1
    const result = new Promise<Result__Output>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, deadline: Date.now() + this.timeoutMs })
    })
    this.queue.push({ ...op, id })
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true
      // After the microtasks of this turn: whatever they send joins the batch.
      process.nextTick(() => this.flush())
    }
    this.sweeper ??= setInterval(() => this.expire(), Math.max(20, Math.floor(this.timeoutMs / 4))).unref()
    return await result
  }

  close (): void {
    this.end(new StorageError('Unavailable', `${this.address}: the session was closed`))
  }

  private flush (): void {
    this.scheduled = false
    while (this.queue.length > 0 && !this.blocked && this.over === undefined) {
      let bytes = 0
      let n = 0
      while (n < this.queue.length && (n === 0 || bytes + dataLength(this.queue[n]!) <= MAX_BATCH_BYTES)) {
        bytes += dataLength(this.queue[n]!)
        n++
      }
      const ops = this.queue.slice(0, n)
      this.queue = this.queue.slice(n)
      if (!this.call.write({ ops })) {
        this.blocked = true
        this.call.once('drain', () => {
          this.blocked = false
          this.flush()
        })
      }
    }
  }

  /** Fails the ops past their deadline; the map is in send order, so the oldest come first. */
  private expire (): void {
    const now = Date.now()
    for (const [id, pending] of this.pending) {
      if (pending.deadline > now) break
      this.pending.delete(id)
      pending.reject(new StorageError('Unavailable', `${this.address}: no answer in ${this.timeoutMs} ms`))
    }
    if (this.pending.size === 0) this.stopSweeper()
  }

  private end (error: StorageError): void {
    if (this.over !== undefined) return
    this.over = error
    this.stopSweeper()
    this.queue = []
    for (const pending of this.pending.values()) pending.reject(error)
    this.pending.clear()
    this.call.cancel()
  }

  private stopSweeper (): void {
    if (this.sweeper !== undefined) clearInterval(this.sweeper)
    this.sweeper = undefined
  }
}

function dataLength (op: Omit<Op, 'id'>): number {
  const data = op.write?.data
  return data === undefined || typeof data === 'string' ? 0 : data.length
}
