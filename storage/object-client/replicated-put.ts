import type { Logger } from 'pino'
import type { ObjectInfo, ObjectRef, PutOptions, PutStream } from '../types.ts'
import { StorageError } from '../errors.ts'
import type { PutChunk } from '../put-chunk.ts'
import type { Candidates } from './candidates.ts'
import type { NodePool } from './node-pool.ts'
import type { PlacementDevice } from './placement.ts'
import { asStorageError, awaitQuorum, withTimeout, type Attempt } from './quorum.ts'
import { rechunk } from './rechunk.ts'

export interface PutJob {
  pool: NodePool
  candidates: Candidates
  refFor: (device: PlacementDevice) => ObjectRef
  replicas: number
  writeQuorum: number
  options: PutOptions
  /** How far one replica may lag the W fastest before it is dropped as stalled. */
  nodeTimeoutMs: number
  /** How long a write may wait when every replica is slow (the machine is), and for a commit. */
  stallLimitMs: number
  /** Bytes kept to replay into a stand-in replica when one fails mid-body. */
  replayLimit: number
  logger: Logger
}

interface Replica {
  device: PlacementDevice
  stream: PutStream
  error?: StorageError
}

/**
 * Streams one body to `replicas` nodes at once and returns when
 * `writeQuorum` of them made it durable. The slowest live replica paces the
 * stream (backpressure); one that fails, or lags the others, is dropped and,
 * while the body so far still fits the replay buffer, replaced by the next
 * handoff.
 */
export async function replicatedPut (job: PutJob, body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  trailer?: () => Record<string, string> | undefined): Promise<ObjectInfo> {
  const replicas: Replica[] = []
  let replay: PutChunk[] | undefined = []
  let replayBytes = 0
  const live = (): Replica[] => replicas.filter((r) => r.error === undefined)

  const open = (device: PlacementDevice): Replica =>
    ({ device, stream: job.pool.client(device).put(job.refFor(device), job.options) })

  const fail = (replica: Replica, err: unknown): void => {
    replica.error = asStorageError(err)
    replica.stream.abort(replica.error)
    if (replica.error.code === 'Unavailable') job.pool.markDown(replica.device)
    job.logger.warn({ node: replica.device, err: replica.error.message }, 'replica dropped from put')
  }

  const send = async (replica: Replica, chunk: PutChunk): Promise<void> => {
    if (replica.error !== undefined) return
    try {
      await withTimeout(replica.stream.write(chunk), job.stallLimitMs, 'replica write')
    } catch (err) {
      fail(replica, err)
    }
  }

  /**
   * Writes one chunk to every live replica. A replica is dropped as stalled
   * only when it lags: W others took the chunk and it has not within
   * nodeTimeoutMs. When all are slow, the machine is, and the write waits
   * (up to stallLimitMs) rather than failing every replica at once.
   */
  const sendToAll = async (chunk: PutChunk): Promise<void> => {
    const pending = new Set<Replica>()
    const all = Promise.all(live().map(async (replica) => {
      pending.add(replica)
      try {
        await replica.stream.write(chunk)
      } catch (err) {
        if (replica.error === undefined) fail(replica, err)
      } finally {
        pending.delete(replica)
      }
    }))
    const started = Date.now()
    for (;;) {
      let timer: NodeJS.Timeout | undefined
      const tick = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), job.nodeTimeoutMs) })
      const finished = await Promise.race([all.then(() => true), tick])
      clearTimeout(timer)
      if (finished) return
      const ahead = live().length - pending.size
      const waited = Date.now() - started
      if (ahead >= job.writeQuorum || waited >= job.stallLimitMs) {
        for (const replica of pending) fail(replica, new StorageError('Unavailable', `replica write stalled for ${waited} ms`))
        return
      }
    }
  }

  /** Opens a stand-in on the next candidate and replays the body so far. */
  const standIn = async (): Promise<Replica | undefined> => {
    for (let device = job.candidates.next(); device !== undefined && replay !== undefined; device = job.candidates.next()) {
      const replica = open(device)
      for (const chunk of replay) await send(replica, chunk)
      if (replica.error === undefined) return replica
    }
    return undefined
  }

  for (const device of job.candidates.take(job.replicas)) replicas.push(open(device))
  try {
    for await (const chunk of rechunk(body)) {
      if (replay !== undefined) {
        replay.push(chunk)
        replayBytes += chunk.length
        if (replayBytes > job.replayLimit) replay = undefined
      }
      await sendToAll(chunk)
      while (live().length < job.replicas) {
        const replica = await standIn()
        if (replica === undefined) break
        replicas.push(replica)
      }
      if (live().length < job.writeQuorum) {
        throw new StorageError('QuorumNotMet', `only ${live().length} of ${job.writeQuorum} replicas accepting writes` +
          ` (${[...new Set(replicas.map((r) => r.error?.message))].join('; ')})`)
      }
    }
  } catch (err) {
    for (const replica of live()) replica.stream.abort(asStorageError(err))
    throw err
  }

  const metadata = trailer?.()
  const finish = (replica: Replica): Attempt<ObjectInfo> =>
    ({ device: replica.device, promise: withTimeout(replica.stream.finish(metadata), job.stallLimitMs, 'replica commit') })
  const answers = await awaitQuorum(live().map(finish), {
    need: job.writeQuorum,
    replace: () => {
      if (replay === undefined) return undefined
      const device = job.candidates.next()
      if (device === undefined) return undefined
      const replica = open(device)
      const chunks = replay
      const promise = (async () => {
        for (const chunk of chunks) await withTimeout(replica.stream.write(chunk), job.stallLimitMs, 'replica write')
        return await withTimeout(replica.stream.finish(metadata), job.stallLimitMs, 'replica commit')
      })()
      return { device, promise }
    },
    onError: (device, error) => {
      if (error.code === 'Unavailable') job.pool.markDown(device)
    },
    onLate: () => {}
  })
  for (const answer of answers) job.pool.markUp(answer.device)
  return answers[0]!.value
}
