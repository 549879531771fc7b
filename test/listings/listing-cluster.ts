import type { ExecutionContext } from 'ava'
import { silentLogger } from '../../lib/logger.ts'
import { HybridClock, type ListingRef } from '../../storage/index.ts'
import { ListingClient, type ListOptions, type ListingClientOptions } from '../../storage/listing-client/index.ts'
import { TestCluster } from '../helpers/cluster.ts'
import type { ReferenceItem } from './reference.ts'

/** A TestCluster (real node processes, a ring) with a listing client wired as the gateway wires one. */
export async function listingCluster (t: ExecutionContext | undefined, options: ListingClientOptions = {}):
Promise<{ cluster: TestCluster, listings: ListingClient, clock: HybridClock }> {
  const cluster = await TestCluster.start(t)
  const clock = new HybridClock()
  const listings = new ListingClient({
    placement: { current: () => cluster.ring },
    pool: cluster.pool,
    clock,
    logger: silentLogger()
  }, { replicas: cluster.ring.replicas, nodeTimeoutMs: 3_000, ...options })
  t?.teardown(() => listings.close())
  return { cluster, listings, clock }
}

/** The node refs (one per primary) of a container's listing, to write to replicas one by one. */
export function primaryRefs (cluster: TestCluster, account: string, container: string): Array<{ port: number, ref: ListingRef }> {
  const partition = cluster.ring.partition(account, container)
  return cluster.ring.primaries(partition).map((d) => ({ port: d.port, ref: { device: d.device, partition, account, container } }))
}

/** Every page from the first on, as reference items, checking that pages never repeat an item. */
export async function allPages (listings: ListingClient, account: string, container: string, options: ListOptions):
Promise<{ items: ReferenceItem[], pages: number }> {
  const items: ReferenceItem[] = []
  let marker: string | undefined
  let pages = 0
  for (;;) {
    const page = await listings.listObjects(account, container, { ...options, marker })
    pages++
    const merged: ReferenceItem[] = [
      ...page.entries.map((e) => ({ name: e.name })),
      ...page.commonPrefixes.map((prefix) => ({ prefix }))
    ]
    items.push(...merged.sort((a, b) => Buffer.compare(Buffer.from(keyOf(a)), Buffer.from(keyOf(b))) * (options.reverse === true ? -1 : 1)))
    if (!page.truncated) return { items, pages }
    if (page.nextMarker === undefined) throw new Error('truncated page without nextMarker')
    marker = page.nextMarker
  }
}

function keyOf (item: ReferenceItem): string {
  return 'name' in item ? item.name : item.prefix
}
