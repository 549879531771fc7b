import { StorageError } from '../errors.ts'
import { addressOf } from '../object-client/placement.ts'
import { ChunkStateError, storedOf } from './chunk-errors.ts'
import { versionToProto } from './chunk-proto.ts'
import type { ChunkRef, ChunkState, ChunkVersion } from './chunk-store.ts'
import { compareVersions, formatVersion } from './chunk-version.ts'
import type { ChunkJob } from './replicated-write.ts'

/**
 * Asks the chunk's candidates one at a time, in order (primaries, then
 * handoffs, as far as a write may have gone: twice the replica count),
 * until one holds exactly `version`. The first usually does, so a read
 * moves its bytes once. Fails with VersionMismatch when a replica holds a
 * newer version (the chunk moved on), else Unavailable when one could not
 * be reached, else NotFound (or Corrupt).
 */
export async function replicatedRead (job: ChunkJob, chunk: ChunkRef, chunkSize: number, version: ChunkVersion,
  offset: number, length: number): Promise<Buffer> {
  const name = `${chunk.layer}/${chunk.index}`
  let newer: ChunkState | undefined
  let unreachable: StorageError | undefined
  let failed: StorageError | undefined
  for (let tried = 0; tried < job.replicas * 2; tried++) {
    const device = job.candidates.next()
    if (device === undefined) break
    try {
      const data = await job.pool.client(device).read({
        chunk: { device: device.device, partition: job.partition, layer: chunk.layer, index: chunk.index },
        chunkSize,
        version: versionToProto(version),
        offset,
        length
      })
      job.pool.markUp(device)
      return data
    } catch (err) {
      const error = err instanceof StorageError ? err : new StorageError('Internal', String(err), { cause: err })
      if (error.code === 'InvalidArgument') throw error
      if (error.code === 'VersionMismatch') {
        const stored = storedOf(err)
        if (stored != null && compareVersions(stored.version, version) > 0 && (newer === undefined || compareVersions(stored.version, newer.version) > 0)) {
          newer = stored
        }
        continue
      }
      if (error.code === 'Unavailable') {
        job.pool.markDown(device)
        unreachable ??= error
      } else {
        failed ??= error
      }
      job.logger.warn({ chunk: name, node: addressOf(device), code: error.code, err: error.message }, 'chunk read failed on a replica')
    }
  }
  if (newer !== undefined) {
    throw new ChunkStateError('VersionMismatch', `chunk ${name} is at ${formatVersion(newer.version)}, past ${formatVersion(version)}`, newer)
  }
  if (unreachable !== undefined) {
    throw new StorageError('Unavailable', `chunk ${name}: no reachable replica holds ${formatVersion(version)}`, { cause: unreachable })
  }
  throw new StorageError(failed?.code === 'Corrupt' ? 'Corrupt' : 'NotFound', `chunk ${name}: no replica holds ${formatVersion(version)}`, { cause: failed })
}
