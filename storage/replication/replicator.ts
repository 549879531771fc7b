import { BackgroundLoop } from '../../lib/background-loop.ts'
import type { Startable } from '../../lib/lifecycle.ts'
import type { Logger } from '../../lib/logger.ts'
import { hostPort } from '../../lib/host-port.ts'
import type { Device as RingDevice, Ring } from '../../ring/index.ts'
import type { Device } from '../device.ts'
import { StorageError } from '../errors.ts'
import type { IndexEntry } from '../object-index.ts'
import { stampToMillis } from '../hlc.ts'
import { objectKey } from '../object-name.ts'
import { differingSuffixes, digestPartition, suffixOf } from '../partition-digest.ts'
import { MAX_CHUNK_BYTES } from '../proto.ts'
import type { ObjectRef, StorageNodeClient } from '../types.ts'
import { refOf } from './object-ref.ts'
import type { ReplicationMetrics } from './replication-metrics.ts'

export interface ReplicatorComponents {
  devices: ReadonlyMap<string, Device>
  /** The ring in force; undefined while there is none yet (a cluster still being set up). */
  ring: () => Promise<Ring | undefined>
  /** This node's address as ring devices name it (host:port). */
  self: () => string
  client: (address: string) => StorageNodeClient
  metrics: ReplicationMetrics
  logger: Logger
}

/** What the last passes did, for the node's status. */
export interface ReplicatorStats {
  handoffPartitions: number
  pushed: number
  lastPassUnixMs: number
}

export interface ReplicatorOptions {
  /** Pause between the end of one pass and the start of the next. */
  intervalMs: number
  /** Deadline of each call to another node. */
  callTimeoutMs: number
  /** Bytes pushed per second at most (0: no limit). */
  maxBytesPerSecond: number
  /** Object versions pushed per second at most (0: no limit). */
  maxOpsPerSecond: number
  /** Tombstones older than this (by their timestamp) are removed (Swift's reclaim_age). */
  reclaimAgeMs: number
  now?: () => number
}

/** Partitions a pass works on at once, and pushes in flight per partition and peer: small objects are all round trips. */
const PARTITIONS_IN_FLIGHT = 4
const PUSHES_IN_FLIGHT = 8
/**
 * A partition that has not changed here since every peer held it is only
 * compared again on every this-many-th pass: a peer that lost data (a
 * wiped disk, a quarantined replica) is found by then, and in between a
 * pass costs a local index walk, not two calls per partition and peer.
 */
const FULL_CHECK_EVERY = 10

interface Snapshot {
  entries: Array<{ hash: string, entry: IndexEntry }>
  digest: Map<string, string>
}

/**
 * Swift's push replication for objects: every pass, for each partition a
 * device holds, the device's digest per suffix is compared with each other
 * primary's; for the suffixes that differ the names are listed and every
 * version the other side lacks (or holds older) is pushed to it with its
 * original timestamp, tombstones too. A device that is not a primary of the
 * partition (a handoff) pushes to all primaries and, once each has taken
 * everything, releases what it pushed. Tombstones past the reclaim age are
 * removed and no longer pushed. The push side never deletes a newer
 * version: a node's own writes win by timestamp (Conflict is success).
 */
export class Replicator implements Startable {
  private readonly components: ReplicatorComponents
  private readonly options: ReplicatorOptions
  private readonly loop: BackgroundLoop
  private paceUntil = 0
  private passes = 0
  /** Per device and partition: the ring version and local digest it last had when every peer held all of it. */
  private readonly inSync = new Map<string, string>()
  readonly stats: ReplicatorStats = { handoffPartitions: 0, pushed: 0, lastPassUnixMs: 0 }

  constructor (components: ReplicatorComponents, options: ReplicatorOptions) {
    this.components = components
    this.options = options
    this.loop = new BackgroundLoop('replication pass', options.intervalMs, async () => {
      const started = performance.now()
      await this.pass()
      components.metrics.passDone((performance.now() - started) / 1000)
      this.stats.lastPassUnixMs = Date.now()
    }, components.logger)
  }

  async start (): Promise<void> {
    await this.loop.start()
  }

  async stop (): Promise<void> {
    await this.loop.stop()
  }

  private get stopping (): boolean {
    return this.loop.stopping
  }

  private async pass (): Promise<void> {
    const ring = await this.components.ring()
    if (ring === undefined) return
    const horizon = (this.options.now ?? Date.now)() - this.options.reclaimAgeMs
    const full = this.passes++ % FULL_CHECK_EVERY === 0
    let handoffs = 0
    for (const [name, device] of this.components.devices) {
      const partitions = await device.partitions()
      let next = 0
      await Promise.all(Array.from({ length: PARTITIONS_IN_FLIGHT }, async () => {
        for (let i = next++; i < partitions.length && !this.stopping; i = next++) {
          if (await this.replicate(ring, name, device, partitions[i]!, horizon, full) === 'handoff') handoffs++
        }
      }))
    }
    this.components.metrics.handoffPartitions(handoffs)
    this.stats.handoffPartitions = handoffs
  }

  /** One partition of one device: pushed to the other primaries (and given back, for a handoff). */
  private async replicate (ring: Ring, name: string, device: Device, partition: number, horizon: number, full: boolean):
  Promise<'empty' | 'primary' | 'handoff'> {
    const self = this.components.self()
    const primaries = ring.primaries(partition)
    const isSelf = (d: RingDevice): boolean => hostPort(d.host, d.port) === self && d.device === name
    const primary = primaries.some(isSelf)
    const snapshot = await this.snapshot(device, partition, horizon)
    if (snapshot.entries.length === 0) return 'empty'
    const targets = primaries.filter((d) => !isSelf(d))
    // Unchanged here since every peer was found holding it, under the same ring: only a full pass asks again.
    const key = `${name}/${partition}`
    const state = `${ring.version} ${JSON.stringify([...snapshot.digest])}`
    if (primary && !full && this.inSync.get(key) === state) return 'primary'
    let complete = true
    for (const target of targets) complete = await this.sync(device, partition, snapshot, target) && complete
    if (complete) this.inSync.set(key, state)
    else this.inSync.delete(key)
    if (!primary && complete) await this.release(device, partition, snapshot.entries)
    return primary ? 'primary' : 'handoff'
  }

  /**
   * The partition's entries as they are now, less tombstones past the
   * reclaim age, which are removed here and never pushed (as in Swift: a
   * replica down for longer than the reclaim age may bring such an object
   * back, so the age must outlast any outage).
   */
  private async snapshot (device: Device, partition: number, horizon: number): Promise<Snapshot> {
    const all = await device.entries(partition)
    const expired = all.filter(({ entry }) => entry.deleted && stampToMillis(entry.timestamp) < horizon)
    if (expired.length > 0) {
      await this.drop(device, partition, expired)
      this.components.metrics.reclaimed(expired.length)
    }
    const entries = expired.length === 0 ? all : all.filter((e) => !expired.includes(e))
    return { entries, digest: await digestPartition(entries) }
  }

  /** Pushes what `target` lacks; true when it holds everything of the snapshot afterwards. */
  private async sync (device: Device, partition: number, snapshot: Snapshot, target: RingDevice): Promise<boolean> {
    const address = hostPort(target.host, target.port)
    const client = this.components.client(address)
    const deadline = (): number => Date.now() + this.options.callTimeoutMs
    try {
      const suffixes = differingSuffixes(snapshot.digest, await client.partitionDigest(target.device, partition, { deadline: deadline() }))
      if (suffixes.length === 0) return true
      const theirs = new Map((await client.partitionEntries(target.device, partition, suffixes, { deadline: deadline() }))
        .map((e) => [e.hash, e.timestamp]))
      const wanted = new Set(suffixes)
      const missing = snapshot.entries.filter(({ hash, entry }) => wanted.has(suffixOf(hash)) && (theirs.get(hash) ?? -1n) < entry.timestamp)
      let next = 0
      await Promise.all(Array.from({ length: Math.min(PUSHES_IN_FLIGHT, missing.length) }, async () => {
        for (let i = next++; i < missing.length && !this.stopping; i = next++) {
          const { entry } = missing[i]!
          await this.push(device, partition, entry, client, refOf(entry.name, target.device, partition), deadline())
        }
      }))
      return !this.stopping
    } catch (err) {
      this.components.logger.warn({ partition, node: address, err: (err as Error).message }, 'replication to a node failed; next pass')
      return false
    }
  }

  private async push (device: Device, partition: number, entry: IndexEntry, client: StorageNodeClient, ref: ObjectRef,
    deadline: number): Promise<void> {
    const { metrics } = this.components
    try {
      if (entry.deleted) {
        await client.delete(ref, entry.timestamp, { deadline })
        metrics.pushed('tombstone', 0)
        this.stats.pushed++
        await this.throttle(0)
        return
      }
      const replica = await device.read(objectKey({ ...ref, device: device.name, partition }))
      try {
        // Replaced or gone since the snapshot: the next pass sees what is there now.
        if (replica.info.timestamp !== entry.timestamp || replica.info.deleted) return
        const stream = client.put(ref, { timestamp: entry.timestamp, size: entry.size, metadata: entry.metadata, deadline })
        try {
          for await (const piece of replica.body(0, entry.size, MAX_CHUNK_BYTES)) await stream.write(piece)
          await stream.finish()
        } catch (err) {
          stream.abort(err as Error)
          throw err
        }
        metrics.pushed('object', entry.size)
        this.stats.pushed++
        await this.throttle(entry.size)
      } finally {
        await replica.close()
      }
    } catch (err) {
      // The other side already has something newer: nothing to do.
      if (err instanceof StorageError && err.code === 'Conflict') return
      throw err
    }
  }

  /** A handoff gives back what every primary now holds (at least the version pushed). */
  private async release (device: Device, partition: number, entries: Snapshot['entries']): Promise<void> {
    await this.drop(device, partition, entries)
    this.components.metrics.released(entries.length)
    this.components.logger.info({ partition, objects: entries.length }, 'handoff partition handed back to its primaries')
  }

  private async drop (device: Device, partition: number, entries: Snapshot['entries']): Promise<void> {
    for (const { entry } of entries) {
      await device.release(objectKey(refOf(entry.name, device.name, partition)), entry.timestamp)
    }
  }

  /**
   * Paces pushes: each takes the next slot of 1/ops-limit or
   * bytes/bytes-limit seconds (whichever is longer) on one shared timeline,
   * so pushes in flight together still keep to the limits.
   */
  private async throttle (bytes: number): Promise<void> {
    const { maxBytesPerSecond, maxOpsPerSecond } = this.options
    const cost = Math.max(maxBytesPerSecond > 0 ? (bytes / maxBytesPerSecond) * 1000 : 0, maxOpsPerSecond > 0 ? 1000 / maxOpsPerSecond : 0)
    if (cost === 0) return
    const now = performance.now()
    this.paceUntil = Math.max(this.paceUntil, now) + cost
    await this.loop.pause(Math.ceil(this.paceUntil - now))
  }
}
