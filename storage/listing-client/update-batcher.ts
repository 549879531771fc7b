import type { ListingEntry } from '../listing-types.ts'

interface Waiting {
  entries: ListingEntry[]
  resolve: () => void
  reject: (err: unknown) => void
}

interface Queue {
  waiting: Waiting[]
}

export type SendEntries = (account: string, container: string, entries: ListingEntry[]) => Promise<void>

/**
 * Coalesces concurrent updates of one container's listing: while a batch
 * is on its way to the replicas, later updates wait and then go together
 * in one UpdateEntries per replica. Every bucket PUT at concurrency 16
 * lands on one listing; this turns 16 quorum writes into one, the same
 * group commit the node does with its fsyncs. Each caller still resolves
 * only once W replicas took its entries, and a failed batch fails all its
 * callers (names were checked before, so only quorum failures remain, which
 * would have hit them all anyway).
 */
export class UpdateBatcher {
  private readonly queues = new Map<string, Queue>()
  private readonly send: SendEntries
  private readonly maxEntries: number

  constructor (send: SendEntries, maxEntries: number) {
    this.send = send
    this.maxEntries = maxEntries
  }

  /** At most maxEntries entries per call. */
  async add (account: string, container: string, entries: ListingEntry[]): Promise<void> {
    const key = `${account}/${container}`
    let queue = this.queues.get(key)
    const idle = queue === undefined
    if (queue === undefined) {
      queue = { waiting: [] }
      this.queues.set(key, queue)
    }
    const done = new Promise<void>((resolve, reject) => queue.waiting.push({ entries, resolve, reject }))
    if (idle) void this.drain(key, account, container, queue)
    await done
  }

  private async drain (key: string, account: string, container: string, queue: Queue): Promise<void> {
    while (queue.waiting.length > 0) {
      const batch: Waiting[] = []
      let count = 0
      while (queue.waiting.length > 0 && (batch.length === 0 || count + queue.waiting[0]!.entries.length <= this.maxEntries)) {
        const next = queue.waiting.shift()!
        batch.push(next)
        count += next.entries.length
      }
      try {
        await this.send(account, container, batch.flatMap((w) => w.entries))
        for (const w of batch) w.resolve()
      } catch (err) {
        for (const w of batch) w.reject(err)
      }
    }
    this.queues.delete(key)
  }
}
