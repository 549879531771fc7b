import type { ErrorLimiter } from './node-pool.ts'
import type { Placement, PlacementDevice } from './placement.ts'

/**
 * The devices to try for one partition, best first: primaries that are not
 * error-limited, then handoffs in the ring's order, then the error-limited
 * primaries as a last resort. `take(n)` hands out the first n (a suppressed
 * primary's slot goes to the next handoff); `next()` yields a replacement
 * when one of them fails.
 */
export class Candidates {
  readonly partition: number
  private readonly order: Generator<PlacementDevice>
  private readonly given: PlacementDevice[] = []

  constructor (placement: Placement, partition: number, pool: ErrorLimiter) {
    this.partition = partition
    this.order = orderDevices(placement, partition, pool)
  }

  take (n: number): PlacementDevice[] {
    const out: PlacementDevice[] = []
    while (out.length < n) {
      const device = this.next()
      if (device === undefined) break
      out.push(device)
    }
    return out
  }

  next (): PlacementDevice | undefined {
    const step = this.order.next()
    if (step.done === true) return undefined
    this.given.push(step.value)
    return step.value
  }

  /** Devices handed out so far, in order. */
  handedOut (): PlacementDevice[] {
    return [...this.given]
  }

  /** Position of a handed-out device in the preference order. */
  rank (device: PlacementDevice): number {
    const i = this.given.indexOf(device)
    return i === -1 ? Number.MAX_SAFE_INTEGER : i
  }
}

function * orderDevices (placement: Placement, partition: number, pool: ErrorLimiter): Generator<PlacementDevice> {
  const primaries = placement.primaries(partition)
  const suppressed: PlacementDevice[] = []
  for (const device of primaries) {
    if (pool.isSuppressed(device)) suppressed.push(device)
    else yield device
  }
  for (const device of placement.handoffs(partition)) {
    if (pool.isSuppressed(device)) suppressed.push(device)
    else yield device
  }
  yield * suppressed
}
