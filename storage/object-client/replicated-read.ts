import type { Logger } from 'pino'
import type { GetStream, ObjectInfo, ObjectRef } from '../types.ts'
import { StorageError } from '../errors.ts'
import type { Candidates } from './candidates.ts'
import type { NodePool } from './node-pool.ts'
import type { PlacementDevice } from './placement.ts'
import { asStorageError, awaitQuorum, withTimeout, type Answer, type Attempt } from './quorum.ts'

export interface ReadJob {
  pool: NodePool
  candidates: Candidates
  refFor: (device: PlacementDevice) => ObjectRef
  replicas: number
  readQuorum: number
  nodeTimeoutMs: number
  logger: Logger
}

export interface ObjectRead {
  info: ObjectInfo
  /** Bytes of the requested range; resumes on another replica if one fails. */
  body: AsyncGenerator<Buffer>
}

export interface ReadRange {
  offset?: number
  length?: number
}

/**
 * Asks the partition's replicas at once, decides on the first `readQuorum`
 * answers and keeps the newest. A failed node is stood in for by the next
 * candidate, up to twice the replica count in all (as Swift's proxy does).
 */
function quorumRead<T> (job: ReadJob, ask: (device: PlacementDevice) => Promise<T>, onLate?: (answer: Answer<T>) => void):
Promise<Array<Answer<T>>> {
  let budget = job.replicas * 2
  const attempt = (device: PlacementDevice): Attempt<T> => {
    budget--
    return { device, promise: withTimeout(ask(device), job.nodeTimeoutMs, 'replica read') }
  }
  return awaitQuorum(job.candidates.take(job.replicas).map(attempt), {
    need: job.readQuorum,
    replace: () => {
      if (budget <= 0) return undefined
      const device = job.candidates.next()
      return device === undefined ? undefined : attempt(device)
    },
    onError: (device, error) => {
      if (error.code === 'Unavailable') job.pool.markDown(device)
    },
    onLate
  })
}

/**
 * The newest answer; among equals the one earliest in ring order, so reads
 * of an object keep going to the same replica.
 */
function newest<T> (answers: Array<Answer<T>>, infoOf: (value: T) => ObjectInfo, job: ReadJob): Answer<T> {
  const rank = (a: Answer<T>): number => job.candidates.rank(a.device)
  return answers.reduce((best, a) => {
    const ta = infoOf(a.value).timestamp
    const tb = infoOf(best.value).timestamp
    return ta > tb || (ta === tb && rank(a) < rank(best)) ? a : best
  })
}

function isLive (info: ObjectInfo): boolean {
  return info.exists && !info.deleted
}

export async function replicatedHead (job: ReadJob): Promise<ObjectInfo> {
  const answers = await quorumRead(job, async (device) => await job.pool.client(device).head(job.refFor(device)))
  const info = newest(answers, (i) => i, job).value
  if (!isLive(info)) throw new StorageError('NotFound', 'object not found')
  return info
}

export async function replicatedGet (job: ReadJob, range: ReadRange): Promise<ObjectRead> {
  const ask = async (device: PlacementDevice): Promise<GetStream> =>
    await job.pool.client(device).get(job.refFor(device), range)
  const answers = await quorumRead(job, ask, (late) => late.value.cancel())
  const chosen = newest(answers, (s) => s.info, job)
  const info = chosen.value.info
  for (const answer of answers) if (answer !== chosen) answer.value.cancel()
  if (!isLive(info)) {
    chosen.value.cancel()
    throw new StorageError('NotFound', 'object not found')
  }
  // Replicas that reported this version take over a failed transfer first,
  // then the others already asked (a late answer may well have it too).
  const sameVersion = answers.filter((a) => a !== chosen && a.value.info.timestamp === info.timestamp).map((a) => a.device)
  const fallbacks = [...sameVersion, ...job.candidates.handedOut().filter((d) => d !== chosen.device && !sameVersion.includes(d))]
  return { info, body: resumableBody(job, chosen, fallbacks, range) }
}

async function * resumableBody (job: ReadJob, first: Answer<GetStream>, fallbacks: PlacementDevice[], range: ReadRange):
AsyncGenerator<Buffer> {
  const { info } = first.value
  const start = range.offset ?? 0
  const end = range.length === undefined ? info.size : Math.min(info.size, start + range.length)
  const want = Math.max(0, end - start)
  let delivered = 0
  let current: Answer<GetStream> = first
  try {
    for (;;) {
      try {
        const chunks = current.value.body[Symbol.asyncIterator]()
        // The timer runs only while we wait on the node, not while the caller is slow to read.
        for (let step = await withTimeout(chunks.next(), job.nodeTimeoutMs, 'replica read'); step.done !== true;
          step = await withTimeout(chunks.next(), job.nodeTimeoutMs, 'replica read')) {
          delivered += step.value.length
          yield Buffer.isBuffer(step.value) ? step.value : Buffer.from(step.value)
        }
        if (delivered >= want) return
        throw new StorageError('Internal', `replica sent ${delivered} of ${want} bytes`)
      } catch (err) {
        const error = asStorageError(err)
        job.logger.warn({ node: current.device, err: error.message, code: error.code }, 'replica read failed, resuming elsewhere')
        if (error.code === 'Unavailable') job.pool.markDown(current.device)
        current.value.cancel()
        current = await resume(job, fallbacks, info.timestamp, start + delivered, want - delivered, error)
      }
    }
  } finally {
    current.value.cancel()
  }
}

/** Re-opens the same version at the same place on the next replica that has it. */
async function resume (job: ReadJob, fallbacks: PlacementDevice[], timestamp: bigint, offset: number, length: number,
  lastError: StorageError): Promise<Answer<GetStream>> {
  for (let device = fallbacks.shift() ?? job.candidates.next(); device !== undefined;
    device = fallbacks.shift() ?? job.candidates.next()) {
    try {
      const stream = await withTimeout(job.pool.client(device).get(job.refFor(device), { offset, length, timestamp }),
        job.nodeTimeoutMs, 'replica read')
      if (isLive(stream.info) && stream.info.timestamp === timestamp) return { device, value: stream }
      stream.cancel()
    } catch (err) {
      lastError = asStorageError(err)
    }
  }
  throw lastError
}
