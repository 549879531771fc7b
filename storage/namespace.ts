import type { Logger } from '../lib/logger.ts'
import { StorageError } from './errors.ts'
import type { AccountInfo, ListingClient, ListOptions, ListPage, ObjectListing } from './listing-client/index.ts'
import type { ObjectClient, ObjectPath, PutObjectOptions } from './object-client/index.ts'
import type { ObjectRead, ReadRange } from './object-client/index.ts'
import type { ObjectInfo } from './types.ts'

export interface NamespaceComponents {
  objects: ObjectClient
  listings: ListingClient
  logger: Logger
}

export interface NamespaceOptions {
  /** How long a container seen to exist is trusted without asking again. */
  containerCacheMs?: number
  now?: () => number
}

/**
 * The account / container / object namespace every HTTP front end (S3,
 * Swift) works on: objects through the object client, and with each object
 * write or delete the matching update of its container listing, so a
 * listing shows an object as soon as its write is acknowledged.
 */
export class Namespace {
  readonly objects: ObjectClient
  readonly listings: ListingClient
  private readonly logger: Logger
  private readonly containerCacheMs: number
  private readonly now: () => number
  /** Containers known to exist, until when; saves a quorum read per object write. */
  private readonly knownContainers = new Map<string, number>()
  /** Containers seen not to exist, until when; only containerExists trusts these. */
  private readonly absentContainers = new Map<string, number>()

  constructor (components: NamespaceComponents, options: NamespaceOptions = {}) {
    this.objects = components.objects
    this.listings = components.listings
    this.logger = components.logger
    this.containerCacheMs = options.containerCacheMs ?? 5_000
    this.now = options.now ?? Date.now
  }

  async createContainer (account: string, container: string, metadata: Record<string, string> = {}): Promise<{ created: boolean }> {
    const { created } = await this.listings.putContainer(account, container, metadata, { ifAbsent: true })
    this.absentContainers.delete(`${account}/${container}`)
    this.knownContainers.set(`${account}/${container}`, this.now() + this.containerCacheMs)
    return { created }
  }

  /** NoSuchContainer when absent. */
  async headContainer (account: string, container: string): ReturnType<ListingClient['headContainer']> {
    try {
      return await this.listings.headContainer(account, container)
    } catch (err) {
      throw noSuchContainer(err, container)
    }
  }

  /**
   * Whether a container exists, trusting a recent answer either way: for
   * checks that only decide whether extra work is worth doing, where a
   * stale answer costs that work, never correctness.
   */
  async containerExists (account: string, container: string): Promise<boolean> {
    const key = `${account}/${container}`
    if ((this.absentContainers.get(key) ?? 0) > this.now()) return false
    try {
      await this.requireContainer(account, container)
      return true
    } catch (err) {
      if (!(err instanceof StorageError && err.code === 'NoSuchContainer')) throw err
      this.absentContainers.set(key, this.now() + this.containerCacheMs)
      return false
    }
  }

  async deleteContainer (account: string, container: string): Promise<void> {
    this.knownContainers.delete(`${account}/${container}`)
    try {
      await this.listings.deleteContainer(account, container)
    } catch (err) {
      throw noSuchContainer(err, container)
    }
  }

  /** The account's metadata and counts; an account nothing was written to yet reads as empty, as Swift's autocreated accounts do. */
  async headAccount (account: string): Promise<AccountInfo> {
    try {
      return await this.listings.headAccount(account)
    } catch (err) {
      if (!(err instanceof StorageError && err.code === 'NotFound')) throw err
      return { timestamp: 0n, createdAt: new Date(0), metadata: {}, objectCount: 0, bytesUsed: 0, containerCount: 0 }
    }
  }

  /** Replaces the account's metadata (Swift's X-Account-Meta-*). */
  async setAccountMetadata (account: string, metadata: Record<string, string>): Promise<void> {
    await this.listings.putAccount(account, metadata)
  }

  async listContainers (account: string, options: ListOptions = {}): ReturnType<ListingClient['listContainers']> {
    return await this.listings.listContainers(account, options)
  }

  async listObjects (account: string, container: string, options: ListOptions = {}): Promise<ListPage<ObjectListing>> {
    await this.requireContainer(account, container)
    return await this.listings.listObjects(account, container, options)
  }

  /** Stores the object, then lists it; both are done when this resolves. */
  async putObject (path: ObjectPath, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options: PutObjectOptions = {}): Promise<ObjectInfo> {
    await this.requireContainer(path.account, path.container)
    const info = await this.objects.put(path, body, options)
    await this.listings.updateObject(path.account, path.container, {
      name: path.object,
      timestamp: info.timestamp,
      size: info.size,
      etag: info.metadata.etag ?? '',
      contentType: info.metadata['content-type'] ?? ''
    })
    return info
  }

  async headObject (path: ObjectPath): Promise<ObjectInfo> {
    try {
      return await this.objects.head(path)
    } catch (err) {
      throw await this.whichNotFound(err, path)
    }
  }

  async getObject (path: ObjectPath, range: ReadRange = {}): Promise<ObjectRead> {
    try {
      return await this.objects.get(path, range)
    } catch (err) {
      throw await this.whichNotFound(err, path)
    }
  }

  /** Deletes (a tombstone, then the listing update); deleting a missing object is not an error. */
  async deleteObject (path: ObjectPath): Promise<void> {
    await this.requireContainer(path.account, path.container)
    const tombstone = await this.objects.delete(path)
    await this.listings.updateObject(path.account, path.container, { name: path.object, timestamp: tombstone.timestamp, deleted: true })
  }

  private async requireContainer (account: string, container: string): Promise<void> {
    const key = `${account}/${container}`
    const until = this.knownContainers.get(key)
    if (until !== undefined && until > this.now()) return
    await this.headContainer(account, container)
    this.knownContainers.set(key, this.now() + this.containerCacheMs)
  }

  /** An object that is not found may be missing because its container is. */
  private async whichNotFound (err: unknown, path: ObjectPath): Promise<unknown> {
    if (!(err instanceof StorageError) || err.code !== 'NotFound') return err
    try {
      await this.requireContainer(path.account, path.container)
    } catch (containerErr) {
      return containerErr
    }
    return err
  }
}

function noSuchContainer (err: unknown, container: string): unknown {
  if (err instanceof StorageError && err.code === 'NotFound') {
    return new StorageError('NoSuchContainer', `container ${container} does not exist`, { cause: err })
  }
  return err
}
