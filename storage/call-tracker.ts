import type { sendUnaryData } from '@grpc/grpc-js'
import type { Logger } from '../lib/logger.ts'
import { StorageError } from './errors.ts'
import { toStatus } from './grpc-status.ts'
import type { Method, NodeMetrics } from './node-metrics.ts'

/** Codes that describe the request, not the node: logged at debug only. */
const CALLER_ERRORS = new Set(['InvalidArgument', 'Conflict', 'VersionMismatch', 'UnknownDevice', 'Unavailable', 'NotEmpty'])

export interface CallTrackerComponents {
  logger: Logger
  metrics: NodeMetrics
}

/**
 * What every gRPC handler of a node shares: metrics by method and outcome,
 * logging of failures, errors sent as statuses, and a count of calls in
 * flight so the node can wait for them (disk work included) before closing
 * the devices.
 */
export class CallTracker {
  private readonly logger: Logger
  private readonly metrics: NodeMetrics
  private active = 0
  private idleWaiters: Array<() => void> = []

  constructor (components: CallTrackerComponents) {
    this.logger = components.logger
    this.metrics = components.metrics
  }

  unary<T> (method: Method, call: { cancelled: boolean }, callback: sendUnaryData<T>, work: () => Promise<T> | T): void {
    void this.track(method, call, async () => callback(null, await work()), (error) => {
      callback(toStatus(error))
    })
  }

  async track (method: Method, call: { cancelled: boolean }, work: () => Promise<void>,
    fail: (error: StorageError) => void): Promise<void> {
    this.active++
    const done = this.metrics.begin(method)
    try {
      await work()
      done('ok')
    } catch (err) {
      const error = asStorageError(err, call.cancelled)
      done(error.code)
      if (CALLER_ERRORS.has(error.code)) this.logger.debug({ method, code: error.code, err: error.message }, 'call refused')
      else this.logger.error({ method, code: error.code, err }, 'call failed')
      fail(error)
    } finally {
      if (--this.active === 0) {
        for (const wake of this.idleWaiters) wake()
        this.idleWaiters = []
      }
    }
  }

  /** Resolves once no call is being handled. */
  async idle (): Promise<void> {
    if (this.active === 0) return
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve))
  }
}

/** Any thrown value as the StorageError the client will see. */
function asStorageError (err: unknown, cancelled: boolean): StorageError {
  if (err instanceof StorageError) return err
  if (cancelled) return new StorageError('Unavailable', 'call cancelled by the client', { cause: err })
  return new StorageError('Internal', 'internal error', { cause: err })
}
