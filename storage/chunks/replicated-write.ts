import type { Logger } from '../../lib/logger.ts'
import type { WriteOp } from '../../proto/gen/ringstack/block/v1/WriteOp.ts'
import { StorageError } from '../errors.ts'
import type { Candidates } from '../object-client/candidates.ts'
import type { NodePool } from '../object-client/node-pool.ts'
import { addressOf, type PlacementDevice } from '../object-client/placement.ts'
import { ChunkStateError, storedOf } from './chunk-errors.ts'
import type { ChunkNodeClient } from './chunk-node-client.ts'
import { versionToProto } from './chunk-proto.ts'
import type { ChunkState, ChunkWriteRequest } from './chunk-store.ts'
import { formatVersion, sameVersion } from './chunk-version.ts'
import type { ChunkClientMetrics } from './client-metrics.ts'

/** Everything one replicated chunk op needs. */
export interface ChunkJob {
  pool: NodePool<ChunkNodeClient>
  candidates: Candidates
  partition: number
  replicas: number
  /** Replicas on distinct nodes an ack needs. */
  minReplicas: number
  logger: Logger
  metrics: ChunkClientMetrics
}

type Outcome =
  | { kind: 'ok', device: PlacementDevice }
  | { kind: 'stale', device: PlacementDevice, stored: ChunkState | null }
  | { kind: 'fatal', error: StorageError }
  | { kind: 'gone' }

/** Refusals about the request itself: no other replica would answer differently. */
const FATAL = new Set(['StaleEpoch', 'InvalidArgument', 'Conflict'])

/**
 * Writes to the chunk's replicas at once. A replica that is unreachable,
 * times out or fails is replaced by the next candidate (a handoff); one
 * that answers StaleChunk (it missed writes, or is a fresh handoff) gets
 * the whole chunk at `next`, read from a replica that took the write. The
 * write resolves once every live replica holds `next`, on at least
 * minReplicas nodes; StaleEpoch (the writer was fenced) wins over
 * everything else.
 */
export async function replicatedWrite (job: ChunkJob, request: ChunkWriteRequest): Promise<void> {
  const { chunk } = request
  const name = `${chunk.layer}/${chunk.index}`
  // Devices tried in all, as Swift's proxy bounds handoffs: twice the replicas.
  let budget = job.replicas * 2
  const take = (n: number): PlacementDevice[] => {
    const out = job.candidates.take(Math.min(n, budget))
    budget -= out.length
    return out
  }

  const attempt = async (first: PlacementDevice, op: WriteOp): Promise<Outcome> => {
    for (let device: PlacementDevice | undefined = first; device !== undefined; device = take(1)[0]) {
      try {
        await job.pool.client(device).write({ ...op, chunk: { ...op.chunk, device: device.device } })
        job.pool.markUp(device)
        return { kind: 'ok', device }
      } catch (err) {
        const error = err instanceof StorageError ? err : new StorageError('Internal', String(err), { cause: err })
        const stored = storedOf(err)
        if (error.code === 'StaleChunk') return { kind: 'stale', device, stored: stored ?? null }
        // Already there: a late retry of this very write.
        if (error.code === 'Conflict' && stored != null && sameVersion(stored.version, request.next)) return { kind: 'ok', device }
        if (FATAL.has(error.code)) return { kind: 'fatal', error }
        if (error.code === 'Unavailable') job.pool.markDown(device)
        job.metrics.replacedReplica()
        job.logger.warn({ chunk: name, node: addressOf(device), code: error.code, err: error.message }, 'chunk replica replaced')
      }
    }
    return { kind: 'gone' }
  }

  const first = await Promise.all(targets(job, take).map(async (device) => await attempt(device, wireWrite(request, job.partition))))
  throwFatal(first)
  const ok = first.flatMap((o) => (o.kind === 'ok' ? [o.device] : []))
  const stale = first.flatMap((o) => (o.kind === 'stale' ? [o] : []))
  if (stale.length > 0) {
    if (ok.length === 0) {
      // Every replica answered and none follows: the writer's idea of the chunk is wrong.
      if (first.every((o) => o.kind === 'stale')) {
        throw new ChunkStateError('StaleChunk', `chunk ${name}: no replica is at ${formatVersion(request.prev)}`, stale[0]!.stored)
      }
      throw new StorageError('Unavailable', `chunk ${name}: no reachable replica is at ${formatVersion(request.prev)}`)
    }
    const whole = await readWhole(job, ok, request)
    const repairs = await Promise.all(stale.map(async ({ device, stored }) => {
      job.metrics.repaired()
      job.logger.info({ chunk: name, node: addressOf(device), had: formatVersion(stored?.version ?? null), next: formatVersion(request.next) },
        'repairing a lagging chunk replica')
      return await attempt(device, wireWrite({ ...request, prev: null, write: { kind: 'data', offset: 0, data: whole } }, job.partition))
    }))
    throwFatal(repairs)
    for (const outcome of repairs) {
      if (outcome.kind === 'ok') ok.push(outcome.device)
      else if (outcome.kind === 'stale') throw new StorageError('Internal', `chunk ${name}: a whole-chunk repair was refused as stale`)
    }
  }
  const nodes = new Set(ok.map(addressOf)).size
  if (nodes < job.minReplicas) {
    throw new StorageError('Unavailable', `chunk ${name}: ${nodes} node(s) took the write, ${job.minReplicas} needed`)
  }
}

/**
 * The first replicas to write. Error-limited nodes come last in candidate
 * order and are only written while without them there would be too few:
 * otherwise every write would wait on a dead node (a connect timeout, for
 * a host that is gone), not just one write per suppression period.
 */
function targets (job: ChunkJob, take: (n: number) => PlacementDevice[]): PlacementDevice[] {
  const out: PlacementDevice[] = []
  while (out.length < job.replicas) {
    const device = take(1)[0]
    if (device === undefined || (out.length >= job.minReplicas && job.pool.isSuppressed(device))) break
    out.push(device)
  }
  return out
}

function throwFatal (outcomes: Outcome[]): void {
  const fatal = outcomes.flatMap((o) => (o.kind === 'fatal' ? [o.error] : []))
  if (fatal.length > 0) throw fatal.find((e) => e.code === 'StaleEpoch') ?? fatal[0]!
}

/** The whole chunk at `next`, from the first replica that took the write and answers. */
async function readWhole (job: ChunkJob, sources: PlacementDevice[], request: ChunkWriteRequest): Promise<Buffer> {
  const { chunk } = request
  let last: unknown
  for (const device of sources) {
    try {
      return await job.pool.client(device).read({
        chunk: { device: device.device, partition: job.partition, layer: chunk.layer, index: chunk.index },
        chunkSize: request.chunkSize,
        version: versionToProto(request.next),
        offset: 0,
        length: request.chunkSize
      })
    } catch (err) {
      last = err
    }
  }
  throw new StorageError('Unavailable', `chunk ${chunk.layer}/${chunk.index}: no replica to repair from`, { cause: last })
}

/** The wire op, without the device (each target fills in its own). */
export function wireWrite (request: ChunkWriteRequest, partition: number): WriteOp {
  const { chunk, write } = request
  const op: WriteOp = {
    chunk: { partition, layer: chunk.layer, index: chunk.index },
    chunkSize: request.chunkSize,
    prev: request.prev === null ? null : versionToProto(request.prev),
    next: versionToProto(request.next),
    fua: request.fua
  }
  if (write.kind === 'data') {
    op.offset = write.offset
    op.data = write.data
  } else if (write.kind === 'zero') {
    op.offset = write.offset
    op.zero = { length: write.length }
  } else {
    op.trim = {}
  }
  return op
}
