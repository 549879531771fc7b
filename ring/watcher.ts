import { stat } from 'node:fs/promises'
import type { Startable } from '../lib/lifecycle.ts'
import type { Logger } from '../lib/logger.ts'
import { RingError } from './errors.ts'
import { createHasher, type Hasher } from './hash.ts'
import { Ring } from './ring.ts'

const MISSING = 'missing'

export interface RingWatcherOptions {
  /** The ring file (…/object.ring.gz). */
  path: string
  logger: Logger
  /** How often to look at the file (default 5 s). */
  intervalMs?: number
  hasher?: Hasher
}

export type RingListener = (ring: Ring, previous: Ring) => void

/**
 * Keeps the newest ring in force: polls the ring file's identity (inode,
 * size, mtime) and, when it changes, loads it and swaps it in if its version
 * is newer. A file that does not parse, or carries an older version, is
 * logged and ignored, and the ring in force stays.
 */
export class RingWatcher implements Startable {
  private readonly path: string
  private readonly logger: Logger
  private readonly intervalMs: number
  private hasher: Hasher | undefined
  private ring: Ring | undefined
  private seen = ''
  private timer: NodeJS.Timeout | undefined
  private polling: Promise<boolean> | undefined
  private readonly listeners = new Set<RingListener>()

  constructor (options: RingWatcherOptions) {
    this.path = options.path
    this.logger = options.logger
    this.intervalMs = options.intervalMs ?? 5000
    this.hasher = options.hasher
  }

  /** Loads the ring (it must exist and parse), then polls. */
  async start (): Promise<void> {
    if (this.ring !== undefined) return
    this.hasher ??= await createHasher()
    // Identity first: a write racing the load is then seen again at the next poll.
    const identity = await this.identity().catch(() => MISSING)
    this.ring = await Ring.load(this.path, { hasher: this.hasher })
    this.seen = identity
    this.logger.info({ path: this.path, version: this.ring.version }, 'ring loaded')
    this.schedule()
  }

  async stop (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    await this.polling
  }

  /** The ring in force. */
  current (): Ring {
    if (this.ring === undefined) throw new RingError('RingNotFound', `ring watcher for ${this.path} has not started`)
    return this.ring
  }

  /** Calls `listener` after each swap; returns a function that unsubscribes. */
  onChange (listener: RingListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Looks at the file now; true when a newer ring was swapped in. */
  async check (): Promise<boolean> {
    this.polling ??= this.poll().finally(() => { this.polling = undefined })
    return await this.polling
  }

  private schedule (): void {
    this.timer = setTimeout(() => {
      void this.check().finally(() => {
        if (this.timer !== undefined) this.schedule()
      })
    }, this.intervalMs)
    this.timer.unref()
  }

  private async poll (): Promise<boolean> {
    const previous = this.current()
    let identity: string
    try {
      identity = await this.identity()
    } catch (err) {
      // Warn once, not on every poll, while the file stays missing.
      if (this.seen !== MISSING) this.logger.warn({ err, path: this.path }, 'ring file unreadable; keeping version %d', previous.version)
      this.seen = MISSING
      return false
    }
    if (identity === this.seen) return false
    this.seen = identity
    let next: Ring
    try {
      next = await Ring.load(this.path, { hasher: this.hasher })
    } catch (err) {
      this.logger.warn({ err, path: this.path }, 'ignoring ring file that does not load; keeping version %d', previous.version)
      return false
    }
    if (next.version <= previous.version) {
      if (next.version < previous.version) {
        this.logger.warn({ path: this.path }, 'ignoring ring version %d older than version %d in force', next.version, previous.version)
      }
      return false
    }
    this.ring = next
    this.logger.info({ path: this.path, version: next.version, previous: previous.version }, 'ring updated')
    for (const listener of this.listeners) {
      try {
        listener(next, previous)
      } catch (err) {
        this.logger.error({ err }, 'ring change listener failed')
      }
    }
    return true
  }

  private async identity (): Promise<string> {
    const s = await stat(this.path, { bigint: true })
    return `${s.ino}:${s.size}:${s.mtimeNs}`
  }
}
