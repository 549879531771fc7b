import type { Logger } from 'pino'
import { mergeEntry } from '../listing-order.ts'
import type { ListingEntry } from '../listing-types.ts'

export interface AccountUpdaterComponents {
  /** Makes sure the account listing exists and merges `entries` into it on W replicas; throws otherwise. */
  write: (account: string, entries: ListingEntry[]) => Promise<void>
  /** A container's entry carrying its current counts; undefined when it no longer exists. */
  stats: (account: string, container: string) => Promise<ListingEntry | undefined>
  logger: Logger
}

export interface AccountUpdaterOptions {
  /** How long count reports for a busy container gather before one is sent. */
  statsDelayMs: number
  /** Wait before retrying account updates that failed. */
  retryMs: number
}

interface Pending {
  entries: Map<string, ListingEntry>
  stats: Set<string>
}

/**
 * Carries container changes into account listings, as Swift's container
 * updater does, off the object write path: an object write touches only its
 * container's listing, and the container's counts reach the account listing
 * later, once per `statsDelayMs` however many writes came in between (one
 * account's listing would otherwise take every write of the account).
 * Creates and deletes of containers are written at once, and kept and
 * retried every `retryMs` when that fails. Counts therefore converge a
 * moment after the writes; creates and deletes show at once unless the
 * account's replicas were unreachable. Pending work lives in this process:
 * one that dies loses it until the container's next write reports again
 * (persisting it, like Swift's async_pending files, is the seam for that).
 */
export class AccountUpdater {
  private readonly components: AccountUpdaterComponents
  private readonly options: AccountUpdaterOptions
  private pending = new Map<string, Pending>()
  private timer: NodeJS.Timeout | undefined
  private due = Infinity
  private running: Promise<void> = Promise.resolve()
  private closed = false

  constructor (components: AccountUpdaterComponents, options: AccountUpdaterOptions) {
    this.components = components
    this.options = options
  }

  /** Writes a container's entry now; on failure keeps it for a retry instead of throwing. */
  async send (account: string, entry: ListingEntry): Promise<void> {
    try {
      await this.components.write(account, [entry])
    } catch (err) {
      this.components.logger.warn({ account, container: entry.name, err: (err as Error).message },
        'account listing update failed; queued for retry')
      this.keep(account, [entry], [])
      this.schedule(this.options.retryMs)
    }
  }

  /** Notes that a container's counts changed; they are reported after statsDelayMs. */
  statsChanged (account: string, container: string): void {
    this.keep(account, [], [container])
    this.schedule(this.options.statsDelayMs)
  }

  /** Sends everything pending now. */
  async flush (): Promise<void> {
    this.cancelTimer()
    this.running = this.running.then(async () => await this.run())
    await this.running
  }

  /** Stops the timer; what is still pending is dropped. */
  close (): void {
    this.closed = true
    this.cancelTimer()
  }

  private keep (account: string, entries: ListingEntry[], stats: string[]): void {
    let pending = this.pending.get(account)
    if (pending === undefined) {
      pending = { entries: new Map(), stats: new Set() }
      this.pending.set(account, pending)
    }
    for (const entry of entries) pending.entries.set(entry.name, latest(pending.entries.get(entry.name), entry))
    for (const container of stats) pending.stats.add(container)
  }

  private schedule (delayMs: number): void {
    if (this.closed) return
    const at = Date.now() + delayMs
    if (this.timer !== undefined && this.due <= at) return
    this.cancelTimer()
    this.due = at
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.due = Infinity
      void this.flush()
    }, delayMs)
    // Pending reports must not keep a process alive that is otherwise done.
    this.timer.unref()
  }

  private cancelTimer (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    this.due = Infinity
  }

  private async run (): Promise<void> {
    const work = this.pending
    this.pending = new Map()
    let failed = false
    await Promise.all([...work].map(async ([account, { entries, stats }]) => {
      for (const container of stats) {
        try {
          const entry = await this.components.stats(account, container)
          if (entry !== undefined) entries.set(container, latest(entries.get(container), entry))
        } catch (err) {
          failed = true
          this.keep(account, [], [container])
          this.components.logger.warn({ account, container, err: (err as Error).message }, 'container stats unavailable; will retry')
        }
      }
      if (entries.size === 0) return
      try {
        await this.components.write(account, [...entries.values()])
      } catch (err) {
        failed = true
        this.keep(account, [...entries.values()], [])
        this.components.logger.warn({ account, err: (err as Error).message }, 'account listing update failed; will retry')
      }
    }))
    if (failed) this.schedule(this.options.retryMs)
  }
}

function latest (known: ListingEntry | undefined, entry: ListingEntry): ListingEntry {
  return mergeEntry(known, entry) ?? known ?? entry
}
