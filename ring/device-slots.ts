/**
 * Per-device lists of replica slots (r << partPower | p). Replicas are
 * appended as they arrive; an entry goes stale when its replica leaves and
 * is dropped the next time the list is read, so moves cost O(1).
 */
export class DeviceSlots {
  private readonly lists: Int32Array[]
  private readonly lengths: Int32Array
  private readonly cursors: Int32Array

  constructor (devices: number, capacity: (k: number) => number) {
    this.lists = Array.from({ length: devices }, (_, k) => new Int32Array(capacity(k) + 16))
    this.lengths = new Int32Array(devices)
    this.cursors = new Int32Array(devices)
  }

  push (k: number, slot: number): void {
    let list = this.lists[k]!
    const n = this.lengths[k]!
    if (n === list.length) {
      const grown = new Int32Array(list.length * 2)
      grown.set(list)
      this.lists[k] = list = grown
    }
    list[n] = slot
    this.lengths[k] = n + 1
  }

  /** The entries of device `k` that are still live, after dropping the rest. */
  live (k: number, isLive: (slot: number) => boolean): Int32Array {
    const list = this.lists[k]!
    let n = 0
    for (let i = 0; i < this.lengths[k]!; i++) {
      const q = list[i]!
      if (isLive(q)) list[n++] = q
    }
    this.lengths[k] = n
    this.cursors[k] = 0
    return list.subarray(0, n)
  }

  /**
   * Offers up to `limit` entries of device `k` to `take`, resuming where the
   * last call stopped so repeated searches do not re-read the same head.
   * Returns the first entry `take` accepts, or -1.
   */
  next (k: number, limit: number, take: (slot: number) => boolean): number {
    const list = this.lists[k]!
    const n = this.lengths[k]!
    if (n === 0) return -1
    let i = this.cursors[k]! % n
    for (let seen = 0; seen < Math.min(limit, n); seen++) {
      const q = list[i]!
      i = (i + 1) % n
      if (take(q)) {
        this.cursors[k] = i
        return q
      }
    }
    this.cursors[k] = i
    return -1
  }
}
