import { silentLogger } from '../../lib/logger.ts'
import { Ring } from '../../ring/index.ts'
import { GrpcStorageNodeClient, HybridClock, StorageError } from '../../storage/index.ts'
import { ListingClient } from '../../storage/listing-client/index.ts'
import { NodePool } from '../../storage/object-client/index.ts'
import type { RunningAllInOne } from '../helpers/all-in-one.ts'

/**
 * The names in a bucket's `+segments` companion container (where multipart
 * parts live), read from the ring's listings directly: what S3 clients
 * cannot see, but an abort or a completion must clean up.
 */
export async function segmentNames (cluster: RunningAllInOne, bucket: string): Promise<string[]> {
  const ring = await Ring.load(cluster.ringPath)
  const pool = new NodePool((address) => new GrpcStorageNodeClient(address))
  const listings = new ListingClient({ placement: { current: () => ring }, pool, clock: new HybridClock(), logger: silentLogger() }, { replicas: ring.replicas })
  try {
    const names: string[] = []
    let marker: string | undefined
    for (;;) {
      const page = await listings.listObjects('AUTH_admin', `${bucket}+segments`, { marker, limit: 1000 })
      names.push(...page.entries.map((e) => e.name))
      if (!page.truncated) return names
      marker = page.nextMarker
    }
  } catch (err) {
    if (err instanceof StorageError && err.code === 'NotFound') return []
    throw err
  } finally {
    listings.close()
    pool.close()
  }
}
