import { StorageError } from '../errors.ts'
import type { PlacementDevice } from './placement.ts'

export interface Attempt<T> {
  device: PlacementDevice
  promise: Promise<T>
}

export interface Answer<T> {
  device: PlacementDevice
  value: T
}

export interface QuorumOptions<T> {
  need: number
  /** Another attempt to stand in for a failed one; undefined when none is left. */
  replace?: () => Attempt<T> | undefined
  /** Called with each failure (e.g. to error-limit an unreachable node). */
  onError?: (device: PlacementDevice, error: StorageError) => void
  /** Called with answers that arrive after the quorum was decided. */
  onLate?: (answer: Answer<T>) => void
}

/**
 * Resolves with the first `need` answers, standing in replacements for
 * failures; rejects as soon as the quorum can no longer be reached.
 */
export function awaitQuorum<T> (attempts: Array<Attempt<T>>, options: QuorumOptions<T>): Promise<Array<Answer<T>>> {
  return new Promise((resolve, reject) => {
    const answers: Array<Answer<T>> = []
    const errors: StorageError[] = []
    let pending = 0
    let decided = false

    const track = (attempt: Attempt<T>): void => {
      pending++
      attempt.promise.then((value) => {
        pending--
        const answer = { device: attempt.device, value }
        if (decided) {
          options.onLate?.(answer)
          return
        }
        answers.push(answer)
        if (answers.length >= options.need) {
          decided = true
          resolve(answers)
        }
      }, (err: unknown) => {
        pending--
        const error = asStorageError(err)
        options.onError?.(attempt.device, error)
        if (decided) return
        errors.push(error)
        const next = options.replace?.()
        if (next !== undefined) track(next)
        else if (answers.length + pending < options.need) {
          decided = true
          reject(quorumError(errors, answers.length, options.need))
        }
      })
    }

    for (const attempt of attempts) track(attempt)
    if (!decided && answers.length + pending < options.need) {
      decided = true
      reject(quorumError(errors, answers.length, options.need))
    }
  })
}

export function asStorageError (err: unknown): StorageError {
  if (err instanceof StorageError) return err
  return new StorageError('Internal', err instanceof Error ? err.message : String(err), { cause: err })
}

/**
 * The error to report when a quorum fails: a verdict every replica agrees on
 * (the client's own mistake, a newer version) beats a generic quorum failure.
 */
function quorumError (errors: StorageError[], got: number, need: number): StorageError {
  for (const code of ['Conflict', 'InvalidArgument'] as const) {
    const match = errors.find((e) => e.code === code)
    if (match !== undefined) return match
  }
  const reasons = [...new Set(errors.map((e) => `${e.code}: ${e.message}`))].join('; ')
  return new StorageError('QuorumNotMet', `${got} of ${need} replicas answered${reasons === '' ? '' : ` (${reasons})`}`,
    { cause: errors[0] })
}

/** Rejects with Unavailable when `promise` has not settled within `ms`. */
export function withTimeout<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StorageError('Unavailable', `${what} timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export interface Quorums {
  replicas: number
  readQuorum: number
  writeQuorum: number
}

/**
 * N, R and W from what a client was given: R = ceil(N/2) and W = N + 1 - R
 * by default; any choice must keep R + W > N so reads see acked writes.
 */
export function resolveQuorums (options: Partial<Quorums>): Quorums {
  const replicas = options.replicas ?? 3
  const readQuorum = options.readQuorum ?? Math.ceil(replicas / 2)
  const writeQuorum = options.writeQuorum ?? replicas + 1 - readQuorum
  if (readQuorum + writeQuorum <= replicas || writeQuorum > replicas || readQuorum < 1) {
    throw new StorageError('InvalidArgument', `quorums R=${readQuorum} W=${writeQuorum} do not overlap for N=${replicas}`)
  }
  return { replicas, readQuorum, writeQuorum }
}
