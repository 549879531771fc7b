import { DeviceSlots } from './device-slots.ts'
import { NONE } from './limits.ts'
import type { Placement } from './placement.ts'

type Order = (i: number) => number

/**
 * Bulk detours: what greedy placement and shedding leave behind usually
 * needs just one replica to step aside. Each sweep walks the ring once
 * looking for replicas that can move onto a device with room; when one sits
 * on a device something is waiting for, it steps aside and the waiting
 * replica takes its place. Replicas that already moved in this rebalance
 * step aside first (free), then replicas of partitions not yet moved (one
 * move each). Whatever is still left goes to the augmenting paths, which
 * are exact but cost far more per replica.
 */
function stepAside (pl: Placement, order: Order, movable: (p: number) => boolean, wants: (y: number) => boolean,
  fill: (y: number, p: number, vacate: () => void) => boolean, done: () => boolean): void {
  for (const free of [true, false]) {
    for (let i = 0; i < pl.parts && !done() && pl.totalNeed > 0; i++) {
      const p = order(i)
      if (free ? pl.moved[p] === 0 : pl.moved[p] !== 0 || !movable(p)) continue
      for (let r = 0; r < pl.replicas; r++) {
        const y = pl.assign[r]![p]!
        if (y === NONE || pl.isOver(y) || !wants(y) || (free && pl.originHas(p, y))) continue
        const to = pl.findNeedy(p, r)
        if (to >= 0 && fill(y, p, () => pl.move(r, p, to))) break
      }
    }
  }
}

/**
 * Places replicas that fit only on full devices (`stuck`, as r << partPower
 * | p); returns those still without a device.
 */
export function makeRoom (pl: Placement, order: Order, movable: (p: number) => boolean, stuck: number[]): number[] {
  if (stuck.length === 0) return stuck
  const shift = Math.log2(pl.parts)
  const mask = pl.parts - 1
  const waiting = Array.from({ length: pl.tiers.size }, (): number[] => [])
  stuck.forEach((slot, j) => {
    pl.loadOthers(slot & mask, slot >>> shift)
    for (const d of pl.tiers.weightedIds) if (pl.fits(d)) waiting[d]!.push(j)
  })
  const placed = new Uint8Array(stuck.length)
  let left = stuck.length
  const fill = (y: number, p: number, vacate: () => void): boolean => {
    const queue = waiting[y]!
    for (let i = queue.length - 1; i >= 0; i--) {
      const j = queue[i]!
      const slot = stuck[j]!
      if (placed[j] === 1 || !pl.canPlace(slot & mask, y, slot >>> shift)) {
        queue.splice(i, 1)
        continue
      }
      if ((slot & mask) === p) continue
      queue.splice(i, 1)
      vacate()
      pl.move(slot >>> shift, slot & mask, y)
      placed[j] = 1
      left--
      return true
    }
    return false
  }
  stepAside(pl, order, movable, (y) => waiting[y]!.length > 0, fill, () => left === 0)
  return stuck.filter((_, j) => placed[j] === 0)
}

/**
 * Sheds the excess of over-target devices whose replicas fit no device
 * with room: a replica elsewhere steps aside onto a device with room and an
 * over-target replica that fits takes its place.
 */
export function shedAround (pl: Placement, order: Order, movable: (p: number) => boolean): void {
  const shift = Math.log2(pl.parts)
  const mask = pl.parts - 1
  const over = Array.from(pl.tiers.weightedIds).filter((d) => pl.isOver(d))
  for (let d = 0; d < pl.tiers.size; d++) if (pl.tiers.live[d] === 1 && pl.tiers.weighted[d] === 0 && pl.isOver(d)) over.push(d)
  if (over.length === 0) return
  const index = new Map(over.map((d, k) => [d, k]))
  const slots = new DeviceSlots(over.length, (k) => pl.count[over[k]!]!)
  pl.assign.forEach((row, r) => {
    for (let p = 0; p < row.length; p++) {
      const k = index.get(row[p]!)
      if (k !== undefined) slots.push(k, (r << shift) | p)
    }
  })
  // A device no over-target replica fits stays out of the search for this sweep.
  const hopeless = new Uint8Array(pl.tiers.size)
  const fill = (y: number, p: number, vacate: () => void): boolean => {
    for (const [a, k] of index) {
      if (!pl.isOver(a)) continue
      const q = slots.next(k, Infinity, (q) => {
        const pq = q & mask
        return pq !== p && pl.assign[q >>> shift]![pq] === a && movable(pq) && pl.canPlace(pq, y, q >>> shift)
      })
      if (q < 0) continue
      vacate()
      pl.move(q >>> shift, q & mask, y)
      return true
    }
    hopeless[y] = 1
    return false
  }
  stepAside(pl, order, movable, (y) => hopeless[y] === 0, fill, () => pl.totalExcess === 0)
}
