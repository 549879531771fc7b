/** A write to one chunk of a volume's top layer, waiting its turn. */
export type QueuedWrite =
  | { kind: 'data', offset: number, data: Buffer, fua: boolean }
  | { kind: 'zero', offset: number, length: number, mayTrim: boolean, fua: boolean }
  /** Copy the chunk up from the layer below if the top layer lacks it (flatten). */
  | { kind: 'copy-up' }

interface Waiting {
  write: QueuedWrite
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * Writes of one chunk go one at a time, so each replica sees an unbroken
 * version chain; writes of different chunks never wait on each other.
 * While one write of a chunk is out, the ones that queue up behind it and
 * continue each other (a sequential writer's next blocks) leave together as
 * one write: one version, one round trip to the replicas, instead of one
 * each.
 */
export class ChunkWriteQueue {
  private readonly queues = new Map<number, Waiting[]>()
  private readonly apply: (index: number, writes: QueuedWrite[]) => Promise<void>
  private readonly maxBytes: number

  /** `apply` gets one write, or several contiguous data writes (ascending, at most maxBytes together). */
  constructor (apply: (index: number, writes: QueuedWrite[]) => Promise<void>, maxBytes: number) {
    this.apply = apply
    this.maxBytes = maxBytes
  }

  async enqueue (index: number, write: QueuedWrite): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      let queue = this.queues.get(index)
      if (queue === undefined) {
        queue = []
        this.queues.set(index, queue)
        // Requests parsed from one socket read all arrive in this tick: let them queue before the first leaves.
        const started = queue
        queueMicrotask(() => { void this.drain(index, started) })
      }
      queue.push({ write, resolve, reject })
    })
  }

  private async drain (index: number, queue: Waiting[]): Promise<void> {
    while (queue.length > 0) {
      const batch = this.takeBatch(queue)
      try {
        await this.apply(index, batch.map((w) => w.write))
        for (const w of batch) w.resolve()
      } catch (err) {
        for (const w of batch) w.reject(err)
      }
    }
    this.queues.delete(index)
  }

  private takeBatch (queue: Waiting[]): Waiting[] {
    const first = queue[0]!
    let count = 1
    if (first.write.kind === 'data') {
      const start = first.write.offset
      let end = start + first.write.data.length
      for (; count < queue.length; count++) {
        const next = queue[count]!.write
        if (next.kind !== 'data' || next.offset !== end || end + next.data.length - start > this.maxBytes) break
        end += next.data.length
      }
    }
    return queue.splice(0, count)
  }
}
