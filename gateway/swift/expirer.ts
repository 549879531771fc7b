import { createHash } from 'node:crypto'
import type { Startable } from '../../lib/lifecycle.ts'
import type { Logger } from '../../lib/logger.ts'
import { StorageError, type Namespace, type ObjectPath } from '../../storage/index.ts'
import { removeObject } from '../s3/object-reader.ts'
import { DELETE_AT_KEY } from './metadata.ts'

/** The queue lives in a listing of an account no URL reaches (Swift accounts are AUTH_*). */
const QUEUE_ACCOUNT = '.ringstack_expiring_objects'
const QUEUE_CONTAINER = 'queue'
const BATCH = 100

function entryName (deleteAt: number, path: ObjectPath): string {
  const digest = createHash('sha256').update(`${path.account}/${path.container}/${path.object}`).digest('hex').slice(0, 32)
  return `${String(deleteAt).padStart(12, '0')}-${digest}`
}

/**
 * Removes objects whose X-Delete-At has passed. Reads already answer 404
 * from that moment (metadata.ts isExpired); this reaper frees the space and
 * takes them out of listings. Each scheduled expiry is an entry of a queue
 * listing (named by time, the object's path in its metadata); every
 * `intervalMs` a gateway takes the entries that are due, deletes each
 * object that still carries that X-Delete-At (a newer PUT or POST that
 * changed it has its own entry), and drops the entry. Several gateways may
 * reap at once: deleting twice is harmless.
 */
export class ObjectExpirer implements Startable {
  private readonly namespace: Namespace
  private readonly logger: Logger
  private readonly intervalMs: number
  private readonly now: () => number
  private timer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private queueReady = false

  constructor (components: { namespace: Namespace, logger: Logger }, options: { intervalMs?: number, now?: () => number } = {}) {
    this.namespace = components.namespace
    this.logger = components.logger
    this.intervalMs = options.intervalMs ?? 5_000
    this.now = options.now ?? Date.now
  }

  async start (): Promise<void> {
    this.timer = setInterval(() => {
      this.running ??= this.reap().catch((err: unknown) => {
        this.logger.warn({ err }, 'object expirer pass failed; retried next interval')
      }).finally(() => { this.running = undefined })
    }, this.intervalMs)
    this.timer.unref()
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.running
  }

  /** Records that the object written at `timestamp` expires at `deleteAt` (Unix seconds). */
  async schedule (path: ObjectPath, deleteAt: number, timestamp: bigint): Promise<void> {
    if (!this.queueReady) {
      await this.namespace.createContainer(QUEUE_ACCOUNT, QUEUE_CONTAINER)
      this.queueReady = true
    }
    await this.namespace.listings.updateObject(QUEUE_ACCOUNT, QUEUE_CONTAINER, {
      name: entryName(deleteAt, path), timestamp, size: 0, etag: '', contentType: '',
      metadata: { account: path.account, container: path.container, object: path.object, 'delete-at': String(deleteAt) }
    })
  }

  /** One pass over the entries that are due. */
  async reap (): Promise<void> {
    const due = `${String(Math.floor(this.now() / 1000) + 1).padStart(12, '0')}`
    for (;;) {
      let page
      try {
        page = await this.namespace.listObjects(QUEUE_ACCOUNT, QUEUE_CONTAINER, { endMarker: due, limit: BATCH })
      } catch (err) {
        if (err instanceof StorageError && err.code === 'NoSuchContainer') return
        throw err
      }
      for (const entry of page.entries) {
        const { account = '', container = '', object = '', 'delete-at': deleteAt } = entry.metadata
        await this.expire({ account, container, object }, deleteAt)
        await this.namespace.listings.updateObject(QUEUE_ACCOUNT, QUEUE_CONTAINER, { name: entry.name, timestamp: entry.timestamp + 1n, deleted: true })
      }
      if (!page.truncated) return
    }
  }

  private async expire (path: ObjectPath, deleteAt: string | undefined): Promise<void> {
    try {
      const info = await this.namespace.headObject(path)
      if (info.metadata[DELETE_AT_KEY] !== deleteAt) return
      await removeObject(this.namespace, path, this.logger)
      this.logger.info({ path }, 'expired object removed')
    } catch (err) {
      if (err instanceof StorageError && (err.code === 'NotFound' || err.code === 'NoSuchContainer')) return
      throw err
    }
  }
}
