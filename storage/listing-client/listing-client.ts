import type { Logger } from 'pino'
import { StorageError } from '../errors.ts'
import { stampToMillis, type HybridClock } from '../hlc.ts'
import { checkListingNames, checkName } from '../listing-layout.ts'
import { MAX_LIST_LIMIT, newerEntry } from '../listing-order.ts'
import type { ListingEntry, ListingInfo, ListingRef } from '../listing-types.ts'
import { MAX_CONTAINER_BYTES, MAX_OBJECT_NAME_BYTES } from '../object-name.ts'
import { checkMetadata } from '../request-checks.ts'
import { Candidates, resolveQuorums, type Answer, type NodePool, type PlacementDevice, type PlacementSource } from '../object-client/index.ts'
import { AccountUpdater } from './account-updater.ts'
import { readReplicas, writeReplicas, type ListingJob } from './listing-job.ts'
import { mergedList, type MergedPage } from './merged-list.ts'
import { UpdateBatcher } from './update-batcher.ts'

export interface ListingClientComponents {
  placement: PlacementSource
  pool: NodePool
  clock: HybridClock
  logger: Logger
}

export interface ListingClientOptions {
  /** Replicas of each listing; the ring's replica count, by default 3. */
  replicas?: number
  /** R: replicas a read merges; ceil(N/2) by default. */
  readQuorum?: number
  /** W: replicas that must take a write; N + 1 - R by default. */
  writeQuorum?: number
  /** How long one node may take for one call before it counts as down. */
  nodeTimeoutMs?: number
  /** How long container counts gather before they are reported to the account listing. */
  statsDelayMs?: number
  /** Wait before retrying a failed account listing update. */
  retryMs?: number
}

/** A container (or account) as its newest replica record says. */
export interface ContainerInfo {
  /** HLC stamp of its creation (or last metadata change). */
  timestamp: bigint
  createdAt: Date
  metadata: Record<string, string>
  objectCount: number
  bytesUsed: number
}

export interface AccountInfo extends ContainerInfo {
  containerCount: number
}

/** What an object write or delete tells its container listing. */
export interface ObjectUpdate {
  name: string
  /** The stamp the object write (or delete) carried. */
  timestamp: bigint
  deleted?: boolean
  size?: number
  etag?: string
  contentType?: string
  /** Small metadata worth listing (keep it small: it is in every listing page). */
  metadata?: Record<string, string>
}

export interface ObjectListing {
  name: string
  timestamp: bigint
  lastModified: Date
  size: number
  etag: string
  contentType: string
  metadata: Record<string, string>
}

export interface ContainerListing {
  name: string
  timestamp: bigint
  createdAt: Date
  objectCount: number
  bytesUsed: number
}

export interface ListOptions {
  prefix?: string
  delimiter?: string
  /** Exclusive start (a previous page's nextMarker). */
  marker?: string
  /** Exclusive end. */
  endMarker?: string
  /** Entries plus common prefixes; 1000 by default, at most MAX_LIST_LIMIT; 0 answers an empty, untruncated page. */
  limit?: number
  reverse?: boolean
}

export interface ListPage<T> {
  entries: T[]
  commonPrefixes: string[]
  truncated: boolean
  /** When truncated: pass as `marker` for the next page (a common prefix there skips the whole prefix). */
  nextMarker?: string
}

/** Entries one UpdateEntries call carries (the node's limit). */
const UPDATE_BATCH = 1000

/**
 * Container and account listings on the ring, the way Swift's proxy drives
 * its account and container servers: a container's listing lives on the
 * replicas of the ring partition of /account/container, an account's on
 * those of /account. Writes go to N replicas (handoffs standing in for
 * unreachable ones) and succeed once W took them; reads merge R replicas,
 * newest per name, so with R + W > N a listing shows every update that
 * was acknowledged before it started.
 */
export class ListingClient {
  readonly replicas: number
  readonly readQuorum: number
  readonly writeQuorum: number
  private readonly components: ListingClientComponents
  private readonly nodeTimeoutMs: number
  private readonly accounts: AccountUpdater
  private readonly updates: UpdateBatcher

  constructor (components: ListingClientComponents, options: ListingClientOptions = {}) {
    this.components = components
    const quorums = resolveQuorums(options)
    this.replicas = quorums.replicas
    this.readQuorum = quorums.readQuorum
    this.writeQuorum = quorums.writeQuorum
    this.nodeTimeoutMs = options.nodeTimeoutMs ?? 10_000
    this.accounts = new AccountUpdater({
      write: async (account, entries) => await this.writeAccount(account, entries),
      stats: async (account, container) => await this.containerStats(account, container),
      logger: components.logger
    }, { statsDelayMs: options.statsDelayMs ?? 1_000, retryMs: options.retryMs ?? 5_000 })
    this.updates = new UpdateBatcher(async (account, container, entries) => {
      await writeReplicas(this.job(account, container), async (node, ref, deadline) =>
        await node.updateEntries(ref, entries, { deadline }))
    }, UPDATE_BATCH)
  }

  /**
   * Creates the container, or sets its metadata if it exists (with ifAbsent:
   * leaves an existing one alone and says created: false). Creates the
   * account listing if needed and lists the container in it.
   */
  async putContainer (account: string, container: string, metadata: Record<string, string> = {},
    options: { ifAbsent?: boolean } = {}): Promise<{ created: boolean, info: ContainerInfo }> {
    const timestamp = this.components.clock.tick()
    const ifAbsent = options.ifAbsent ?? false
    const answers = await writeReplicas(this.job(account, container), async (node, ref, deadline) =>
      await node.putListing(ref, timestamp, metadata, { ifAbsent, deadline }))
    // With ifAbsent a replica that already had the container answers with its older record.
    const created = answers.every((a) => a.value.timestamp === timestamp)
    if (created) await this.accounts.send(account, containerEntry(container, timestamp, false))
    return { created, info: containerInfo(newest(answers).value) }
  }

  /**
   * Creates the account listing if needed and sets its metadata (replacing
   * what it had), as Swift's account POST does; containers and counts stay.
   */
  async putAccount (account: string, metadata: Record<string, string>): Promise<void> {
    const timestamp = this.components.clock.tick()
    await writeReplicas(this.job(account, ''), async (node, ref, deadline) =>
      await node.putListing(ref, timestamp, metadata, { ifAbsent: false, deadline }))
  }

  /** The newest record among R replicas; NotFound when absent or deleted. Counts: see headListing. */
  async headContainer (account: string, container: string): Promise<ContainerInfo> {
    return containerInfo(await this.headListing(account, container))
  }

  /** The account's record: how many containers, objects and bytes its listing counts. */
  async headAccount (account: string): Promise<AccountInfo> {
    const info = await this.headListing(account, '')
    return { ...containerInfo(info), containerCount: info.containerCount }
  }

  /**
   * Deletes an empty container: NotFound when it does not exist, NotEmpty
   * when the merged listing still has a live object. Should an object land
   * between that check and the delete, the replicas refuse (NotEmpty), and
   * any that had already taken the delete are given the container back.
   */
  async deleteContainer (account: string, container: string): Promise<void> {
    const before = await this.headContainer(account, container)
    const contents = await this.listObjects(account, container, { limit: 1 })
    if (contents.entries.length + contents.commonPrefixes.length > 0) {
      throw new StorageError('NotEmpty', `container ${container} is not empty`)
    }
    const timestamp = this.components.clock.tick()
    let refused: StorageError | undefined
    try {
      await writeReplicas(this.job(account, container), async (node, ref, deadline) =>
        await node.deleteListing(ref, timestamp, { deadline }), (device, error) => {
        if (error.code === 'NotEmpty') refused = error
        this.components.logger.debug({ node: device, code: error.code, err: error.message }, 'container delete refused')
      })
    } catch (err) {
      if (refused === undefined) throw err
      const revivedAt = this.components.clock.tick()
      await writeReplicas(this.job(account, container), async (node, ref, deadline) =>
        await node.putListing(ref, revivedAt, before.metadata, { deadline }))
      throw refused
    }
    await this.accounts.send(account, { ...containerEntry(container, timestamp, true), statsTimestamp: timestamp })
  }

  /** One page of the account's containers, merged as listObjects merges. */
  async listContainers (account: string, options: ListOptions = {}): Promise<ListPage<ContainerListing>> {
    const page = await this.list(account, '', options)
    return {
      ...page,
      entries: page.entries.map((e) => ({
        name: e.name, timestamp: e.timestamp, createdAt: new Date(stampToMillis(e.timestamp)), objectCount: e.objectCount, bytesUsed: e.bytesUsed
      }))
    }
  }

  /**
   * Records an object write or delete in its container's listing; resolves
   * once W replicas took it, throws otherwise (the caller decides: retry,
   * or fail the write). Replays and late arrivals are harmless: every
   * replica keeps the newest version of each name.
   */
  async updateObject (account: string, container: string, update: ObjectUpdate): Promise<void> {
    await this.updateObjects(account, container, [update])
  }

  /**
   * updateObject for many names of one container (a multi-delete).
   * Concurrent updates of one container travel together (UpdateBatcher).
   */
  async updateObjects (account: string, container: string, updates: ObjectUpdate[]): Promise<void> {
    checkListingNames(account, container)
    const entries = updates.map(objectEntry)
    for (let at = 0; at < entries.length; at += UPDATE_BATCH) {
      await this.updates.add(account, container, entries.slice(at, at + UPDATE_BATCH))
    }
    this.accounts.statsChanged(account, container)
  }

  /**
   * One page of a container's objects: prefix, delimiter (common prefixes,
   * each counting as one item, as S3 counts them), markers and limit, in
   * UTF-8 byte order of the names, merged from R replicas. A page holds
   * `limit` items whenever that many follow; `truncated` is exact.
   */
  async listObjects (account: string, container: string, options: ListOptions = {}): Promise<ListPage<ObjectListing>> {
    const page = await this.list(account, container, options)
    return {
      ...page,
      entries: page.entries.map((e) => ({
        name: e.name,
        timestamp: e.timestamp,
        lastModified: new Date(stampToMillis(e.timestamp)),
        size: e.size,
        etag: e.etag,
        contentType: e.contentType,
        metadata: e.metadata
      }))
    }
  }

  /** Reports a container's counts to its account listing now rather than after statsDelayMs. */
  async reportContainerStats (account: string, container: string): Promise<void> {
    this.accounts.statsChanged(account, container)
    await this.accounts.flush()
  }

  /** Sends every pending account listing update now. */
  async flush (): Promise<void> {
    await this.accounts.flush()
  }

  /** Stops background reporting; pending account updates are dropped (flush first to keep them). */
  close (): void {
    this.accounts.close()
  }

  /**
   * The newest record of R replicas; its counts come from the replica that
   * merged the latest entry update (the most complete one: every replica
   * counts exactly what it holds, and they agree once the replicator has
   * caught them up).
   */
  private async headListing (account: string, container: string): Promise<ListingInfo> {
    const answers = await readReplicas(this.job(account, container), this.replicas, async (node, ref, deadline) =>
      await node.headListing(ref, { deadline }))
    const record = newest(answers).value
    if (!record.exists || record.deleted) {
      throw new StorageError('NotFound', container === '' ? `account ${account} not found` : `container ${container} not found`)
    }
    const counts = answers.reduce((best, a) => (a.value.updated > best.value.updated ? a : best)).value
    return { ...record, objectCount: counts.objectCount, bytesUsed: counts.bytesUsed, containerCount: counts.containerCount }
  }

  private async list (account: string, container: string, options: ListOptions): Promise<MergedPage> {
    const limit = options.limit ?? 1000
    if (!Number.isSafeInteger(limit) || limit < 0 || limit > MAX_LIST_LIMIT) {
      throw new StorageError('InvalidArgument', `limit ${limit} is not in 0..${MAX_LIST_LIMIT}`)
    }
    const query = {
      prefix: options.prefix ?? '',
      delimiter: options.delimiter ?? '',
      marker: options.marker ?? '',
      endMarker: options.endMarker ?? '',
      limit,
      reverse: options.reverse ?? false
    }
    for (const [what, value] of Object.entries(query)) {
      if (typeof value === 'string' && value !== '') checkName(value, what, MAX_OBJECT_NAME_BYTES)
    }
    return await mergedList(() => this.job(account, container), query)
  }

  private async writeAccount (account: string, entries: ListingEntry[]): Promise<void> {
    const timestamp = this.components.clock.tick()
    await writeReplicas(this.job(account, ''), async (node, ref, deadline) =>
      await node.putListing(ref, timestamp, {}, { ifAbsent: true, deadline }))
    await writeReplicas(this.job(account, ''), async (node, ref, deadline) =>
      await node.updateEntries(ref, entries, { deadline }))
  }

  /** The container's entry for its account listing, carrying its current counts. */
  private async containerStats (account: string, container: string): Promise<ListingEntry | undefined> {
    let info: ListingInfo
    try {
      info = await this.headListing(account, container)
    } catch (err) {
      if (err instanceof StorageError && err.code === 'NotFound') return undefined
      throw err
    }
    return {
      ...containerEntry(container, info.timestamp, false),
      objectCount: info.objectCount,
      bytesUsed: info.bytesUsed,
      statsTimestamp: this.components.clock.tick()
    }
  }

  /** Also checks the names, so a bad one fails here rather than on every replica. */
  private job (account: string, container: string): ListingJob {
    checkListingNames(account, container)
    const placement = this.components.placement.current()
    const partition = container === '' ? placement.partition(account) : placement.partition(account, container)
    return {
      pool: this.components.pool,
      candidates: new Candidates(placement, partition, this.components.pool),
      refFor: (device: PlacementDevice): ListingRef => ({ device: device.device, partition, account, container }),
      replicas: this.replicas,
      readQuorum: this.readQuorum,
      writeQuorum: this.writeQuorum,
      nodeTimeoutMs: this.nodeTimeoutMs,
      logger: this.components.logger
    }
  }
}

function newest (answers: Array<Answer<ListingInfo>>): Answer<ListingInfo> {
  return answers.reduce((best, a) => (newerEntry(best.value, a.value) === a.value ? a : best))
}

function containerInfo (info: ListingInfo): ContainerInfo {
  return {
    timestamp: info.timestamp,
    createdAt: new Date(stampToMillis(info.timestamp)),
    metadata: info.metadata,
    objectCount: info.objectCount,
    bytesUsed: info.bytesUsed
  }
}

function containerEntry (container: string, timestamp: bigint, deleted: boolean): ListingEntry {
  checkName(container, 'container', MAX_CONTAINER_BYTES)
  return {
    name: container, timestamp, deleted, size: 0, etag: '', contentType: '', metadata: {}, objectCount: 0, bytesUsed: 0, statsTimestamp: 0n
  }
}

function objectEntry (update: ObjectUpdate): ListingEntry {
  checkName(update.name, 'object', MAX_OBJECT_NAME_BYTES)
  if (update.timestamp <= 0n) throw new StorageError('InvalidArgument', 'timestamp must be positive')
  checkMetadata(update.metadata ?? {})
  const deleted = update.deleted ?? false
  return {
    name: update.name,
    timestamp: update.timestamp,
    deleted,
    size: deleted ? 0 : update.size ?? 0,
    etag: deleted ? '' : update.etag ?? '',
    contentType: deleted ? '' : update.contentType ?? '',
    metadata: deleted ? {} : update.metadata ?? {},
    objectCount: 0,
    bytesUsed: 0,
    statsTimestamp: 0n
  }
}
