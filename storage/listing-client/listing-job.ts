import type { Logger } from 'pino'
import type { ListingNodeClient, ListingRef } from '../listing-types.ts'
import { awaitQuorum, withTimeout, type Answer, type Attempt, type Candidates, type NodePool, type PlacementDevice } from '../object-client/index.ts'
import type { StorageError } from '../errors.ts'

/** One listing's replicas for one operation: where they are and how many must answer. */
export interface ListingJob {
  pool: NodePool
  candidates: Candidates
  refFor: (device: PlacementDevice) => ListingRef
  replicas: number
  readQuorum: number
  writeQuorum: number
  nodeTimeoutMs: number
  logger: Logger
}

export type ReplicaCall<T> = (node: ListingNodeClient, ref: ListingRef, deadline: number) => Promise<T>

/** Failures another replica may not share; anything else is a verdict on the request itself. */
const RETRYABLE = new Set(['Unavailable', 'Internal', 'Corrupt', 'UnknownDevice'])

function attempt<T> (job: ListingJob, device: PlacementDevice, call: ReplicaCall<T>): Attempt<T> {
  const deadline = Date.now() + job.nodeTimeoutMs
  const node = job.pool.client(device).listings
  return { device, promise: withTimeout(call(node, job.refFor(device), deadline), job.nodeTimeoutMs, 'listing call') }
}

/**
 * Sends a write to N replicas and resolves with the first W that took it. A
 * replica that fails for its own reasons (down, timed out) is stood in for
 * by the next handoff; a refusal (Conflict, NotEmpty, bad request) is not,
 * since any replica would say the same. `onError` sees every failure.
 */
export async function writeReplicas<T> (job: ListingJob, call: ReplicaCall<T>,
  onError?: (device: PlacementDevice, error: StorageError) => void): Promise<Array<Answer<T>>> {
  let refused = false
  const answers = await awaitQuorum(job.candidates.take(job.replicas).map((d) => attempt(job, d, call)), {
    need: job.writeQuorum,
    replace: () => {
      const device = refused ? undefined : job.candidates.next()
      return device === undefined ? undefined : attempt(job, device, call)
    },
    onError: (device, error) => {
      if (error.code === 'Unavailable') job.pool.markDown(device)
      if (!RETRYABLE.has(error.code)) refused = true
      onError?.(device, error)
    },
    onLate: () => {}
  })
  for (const answer of answers) job.pool.markUp(answer.device)
  return answers
}

/**
 * Asks `ask` replicas at once (more asked = lower latency, more load) and
 * resolves with the first R answers; failed ones are stood in for by the
 * next candidates, up to twice the replica count in all, as object reads do.
 */
export async function readReplicas<T> (job: ListingJob, ask: number, call: ReplicaCall<T>,
  onLate?: (answer: Answer<T>) => void): Promise<Array<Answer<T>>> {
  let budget = job.replicas * 2 - ask
  return await awaitQuorum(job.candidates.take(ask).map((d) => attempt(job, d, call)), {
    need: job.readQuorum,
    replace: () => {
      const device = budget-- > 0 ? job.candidates.next() : undefined
      return device === undefined ? undefined : attempt(job, device, call)
    },
    onError: (device, error) => {
      if (error.code === 'Unavailable') job.pool.markDown(device)
    },
    onLate
  })
}
