/**
 * Hybrid logical clock: 48 bits of wall-clock milliseconds, 16 bits of a
 * logical counter. Stamps are unique and increasing per clock even when the
 * wall clock stalls or steps back, and stay close to real time, so last
 * write wins matches what a person expects.
 */
const LOGICAL_BITS = 16n

export class HybridClock {
  private last = 0n
  private readonly now: () => number

  constructor (now: () => number = Date.now) {
    this.now = now
  }

  /** A new stamp, greater than every stamp this clock issued or observed. */
  tick (): bigint {
    const wall = BigInt(this.now()) << LOGICAL_BITS
    this.last = wall > this.last ? wall : this.last + 1n
    return this.last
  }

  /** Folds in a stamp seen from elsewhere so later ticks come after it. */
  observe (stamp: bigint): void {
    if (stamp > this.last) this.last = stamp
  }
}

export function stampToMillis (stamp: bigint): number {
  return Number(stamp >> LOGICAL_BITS)
}
