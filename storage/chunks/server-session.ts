import type { ServerDuplexStream } from '@grpc/grpc-js'
import type { Op__Output } from '../../proto/gen/ringstack/block/v1/Op.ts'
import type { OpBatch__Output } from '../../proto/gen/ringstack/block/v1/OpBatch.ts'
import type { Result } from '../../proto/gen/ringstack/block/v1/Result.ts'
import type { ResultBatch } from '../../proto/gen/ringstack/block/v1/ResultBatch.ts'

/** A batch of results stops growing at this many data bytes (one big read still goes, alone). */
const MAX_BATCH_BYTES = 1024 * 1024

/**
 * The node's half of one multiplexed session: every op of an arriving batch
 * starts at once (ops of one chunk queue on its lock, in arrival order), and
 * results are sent as they complete, gathered per event-loop turn into one
 * message, which is what lifts small-op rates far above one call per op.
 * The reply stream respects the transport's backpressure. Ends once the
 * client has half-closed (or the node is stopping) and every op answered.
 */
export class ServerSession {
  /** Settles when the stream is over, answered or cut. */
  readonly finished: Promise<void>
  private readonly call: ServerDuplexStream<OpBatch__Output, ResultBatch>
  private readonly execute: (op: Op__Output) => Promise<Result>
  private queue: Result[] = []
  private scheduled = false
  private blocked = false
  private active = 0
  private inputEnded = false
  private closing = false
  private done = false
  private resolveFinished!: () => void

  constructor (call: ServerDuplexStream<OpBatch__Output, ResultBatch>, execute: (op: Op__Output) => Promise<Result>) {
    this.call = call
    this.execute = execute
    this.finished = new Promise((resolve) => { this.resolveFinished = resolve })
    call.on('data', (batch: OpBatch__Output) => {
      for (const op of batch.ops) this.dispatch(op)
    })
    call.on('end', () => {
      this.inputEnded = true
      this.maybeEnd()
    })
    // The client went away: ops under way still complete on disk, their answers have nowhere to go.
    const cut = (): void => this.finish()
    call.on('cancelled', cut)
    call.on('error', cut)
    call.on('close', cut)
  }

  /** Stops taking ops (they are refused as Unavailable), answers those under way, then ends the stream. */
  async close (): Promise<void> {
    this.closing = true
    this.maybeEnd()
    await this.finished
  }

  private dispatch (op: Op__Output): void {
    if (this.closing) {
      this.push({ id: op.id, error: { code: 'Unavailable', message: 'the storage node is stopping' } })
      return
    }
    this.active++
    void this.execute(op).then((result) => {
      this.active--
      this.push(result)
    })
  }

  private push (result: Result): void {
    if (this.done) return
    this.queue.push(result)
    if (!this.scheduled && !this.blocked) {
      this.scheduled = true
      setImmediate(() => this.flush())
    }
  }

  private flush (): void {
    this.scheduled = false
    while (this.queue.length > 0 && !this.blocked && !this.done) {
      let bytes = 0
      let n = 0
      while (n < this.queue.length && (n === 0 || bytes + dataLength(this.queue[n]!) <= MAX_BATCH_BYTES)) {
        bytes += dataLength(this.queue[n]!)
        n++
      }
      const results = this.queue.slice(0, n)
      this.queue = this.queue.slice(n)
      if (!this.call.write({ results })) {
        this.blocked = true
        this.call.once('drain', () => {
          this.blocked = false
          this.flush()
        })
      }
    }
    this.maybeEnd()
  }

  private maybeEnd (): void {
    if (this.done || !(this.inputEnded || this.closing)) return
    if (this.active > 0 || this.queue.length > 0 || this.scheduled || this.blocked) return
    this.call.end()
    this.finish()
  }

  private finish (): void {
    if (this.done) return
    this.done = true
    this.queue = []
    this.resolveFinished()
  }
}

function dataLength (result: Result): number {
  return result.data === undefined ? 0 : (result.data as Buffer).length
}
