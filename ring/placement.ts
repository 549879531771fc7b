import { score } from './hash.ts'
import { NONE } from './limits.ts'
import type { TierNode, Tiers } from './tiers.ts'

const REGION = 0
const ZONE = 1
const HOST = 2
const DEVICE = 3

/**
 * The working state of a rebalance: the assignment being edited next to the
 * one it started from, per-device counts against targets, and the unmet need
 * summed per failure domain so placement can walk the tier tree toward the
 * domains that lack the most. Everything is typed arrays; nothing is
 * allocated per partition.
 */
export class Placement {
  readonly parts: number
  readonly replicas: number
  readonly tiers: Tiers
  readonly target: Int32Array
  readonly origin: readonly Uint16Array[]
  readonly assign: Uint16Array[]
  readonly count: Int32Array
  /**
   * Per partition: replicas that moved, counted on device sets (slot order is
   * settled by normalize()), so which replica moves is free to change.
   */
  readonly moved: Uint8Array
  /** Sum of `moved`. */
  movedCount = 0
  /** Sum over weighted devices of max(0, target - count). */
  totalNeed = 0
  /** Sum over live devices of max(0, count - target). */
  totalExcess = 0
  private readonly need: Int32Array[]
  private readonly caps: Int32Array
  private readonly tierOf: Int32Array[]
  private readonly salt: number
  // Tier ids of one partition's other replicas (loadOthers), and how many.
  private readonly others: Int32Array[]
  private othersLength = 0
  // Stamps marking domains a placement walk already found full, per level.
  private readonly tried: Int32Array[]
  private walkStamp = 0

  constructor (tiers: Tiers, target: Int32Array, origin: readonly Uint16Array[], salt: number) {
    this.tiers = tiers
    this.target = target
    this.origin = origin
    this.replicas = origin.length
    this.parts = origin[0]?.length ?? 0
    this.assign = origin.map((a) => a.slice())
    this.salt = salt
    this.count = new Int32Array(tiers.size)
    this.moved = new Uint8Array(this.parts)
    this.need = [new Int32Array(tiers.regionCount), new Int32Array(tiers.zoneCount), new Int32Array(tiers.hostCount)]
    this.tried = [new Int32Array(tiers.regionCount), new Int32Array(tiers.zoneCount), new Int32Array(tiers.hostCount), new Int32Array(tiers.size)]
    this.tierOf = [tiers.region, tiers.zone, tiers.host]
    this.caps = Int32Array.of(tiers.caps.region, tiers.caps.zone, tiers.caps.host, tiers.caps.device)
    this.others = [0, 1, 2, 3].map(() => new Int32Array(this.replicas))
    for (const row of this.assign) {
      for (let p = 0; p < row.length; p++) {
        const d = row[p]!
        if (d !== NONE) this.count[d]!++
      }
    }
    for (let d = 0; d < tiers.size; d++) {
      this.addNeed(d, this.deviceNeed(d))
      this.totalExcess += this.deviceExcess(d)
    }
  }

  deviceNeed (d: number): number {
    return this.tiers.weighted[d] === 1 ? Math.max(0, this.target[d]! - this.count[d]!) : 0
  }

  deviceExcess (d: number): number {
    return this.tiers.live[d] === 1 ? Math.max(0, this.count[d]! - this.target[d]!) : 0
  }

  isOver (d: number): boolean {
    return this.tiers.live[d] === 1 && this.count[d]! > this.target[d]!
  }

  /** Puts replica `r` of partition `p` on device `d` (or NONE), keeping every tally. */
  move (r: number, p: number, d: number): void {
    const row = this.assign[r]!
    const from = row[p]!
    if (from === d) return
    if (from !== NONE) this.recount(from, -1)
    if (d !== NONE) this.recount(d, 1)
    row[p] = d
    const moved = this.replicas - this.matched(p)
    this.movedCount += moved - this.moved[p]!
    this.moved[p] = moved
  }

  /** Whether `d` held a replica of `p` before the rebalance. */
  originHas (p: number, d: number): boolean {
    for (let r = 0; r < this.replicas; r++) if (this.origin[r]![p] === d) return true
    return false
  }

  /**
   * Puts each partition's devices back in the slots they started in where
   * they still hold it; new devices take the slots that were vacated.
   */
  normalize (): void {
    const slots = new Int32Array(this.replicas)
    for (let p = 0; p < this.parts; p++) {
      if (this.moved[p] === 0 && this.assign.every((row, r) => row[p] === this.origin[r]![p])) continue
      const pool = this.assign.map((row) => row[p]!)
      slots.fill(-1)
      this.origin.forEach((row, r) => {
        const i = pool.indexOf(row[p]!)
        if (i < 0) return
        slots[r] = pool[i]!
        pool.splice(i, 1)
      })
      for (let r = 0; r < this.replicas; r++) this.assign[r]![p] = slots[r]! >= 0 ? slots[r]! : pool.shift()!
    }
  }

  /** How many of `p`'s starting devices (NONE included) its current replicas still cover. */
  private matched (p: number): number {
    let used = 0
    let n = 0
    for (let i = 0; i < this.replicas; i++) {
      const o = this.origin[i]![p]
      for (let j = 0; j < this.replicas; j++) {
        if ((used & (1 << j)) !== 0 || this.assign[j]![p] !== o) continue
        used |= 1 << j
        n++
        break
      }
    }
    return n
  }

  /** Whether replica `r` of `p` may sit on `d` given the partition's other replicas. */
  canPlace (p: number, d: number, r: number): boolean {
    this.loadOthers(p, r)
    return this.fits(d)
  }

  /** Records the tier ids of partition `p`'s replicas other than `skip` for fits(). */
  loadOthers (p: number, skip: number): void {
    let n = 0
    for (let j = 0; j < this.replicas; j++) {
      if (j === skip) continue
      const e = this.assign[j]![p]!
      if (e === NONE) continue
      this.others[REGION]![n] = this.tiers.region[e] ?? -1
      this.others[ZONE]![n] = this.tiers.zone[e] ?? -1
      this.others[HOST]![n] = this.tiers.host[e] ?? -1
      this.others[DEVICE]![n] = e
      n++
    }
    this.othersLength = n
  }

  /** Whether device `d` keeps every domain within its cap, against the loaded replicas. */
  fits (d: number): boolean {
    if (this.tiers.weighted[d] !== 1) return false
    return this.levelFits(DEVICE, d) && this.levelFits(HOST, this.tiers.host[d]!) &&
      this.levelFits(ZONE, this.tiers.zone[d]!) && this.levelFits(REGION, this.tiers.region[d]!)
  }

  /**
   * The device that should take replica `r` of `p`: walks the tier tree
   * toward the domains with the most unmet need that the partition may still
   * use, backing out of dead ends. -1 when no device both needs and fits.
   */
  findNeedy (p: number, r: number): number {
    this.loadOthers(p, r)
    return this.walk(p, this.tiers.root, REGION)
  }

  /** The replica of `p` to take off first to cure a dispersion excess, or -1. */
  worstViolator (p: number): number {
    let worst = -1
    let worstExcess = -Infinity
    for (let i = 0; i < this.replicas; i++) {
      const d = this.assign[i]![p]!
      if (d === NONE || this.tiers.live[d] !== 1 || !this.violating(p, i)) continue
      const excess = this.count[d]! - this.target[d]!
      if (excess > worstExcess) {
        worst = i
        worstExcess = excess
      }
    }
    return worst
  }

  /** Whether any domain holds more replicas of `p` than its cap. */
  violates (p: number): boolean {
    for (let i = 0; i < this.replicas; i++) {
      const d = this.assign[i]![p]!
      if (d !== NONE && this.tiers.live[d] === 1 && this.violating(p, i)) return true
    }
    return false
  }

  private violating (p: number, i: number): boolean {
    this.loadOthers(p, i)
    const d = this.assign[i]![p]!
    return !(this.levelFits(DEVICE, d) && this.levelFits(HOST, this.tiers.host[d]!) &&
      this.levelFits(ZONE, this.tiers.zone[d]!) && this.levelFits(REGION, this.tiers.region[d]!))
  }

  private levelFits (level: number, id: number): boolean {
    const ids = this.others[level]!
    let same = 0
    for (let j = 0; j < this.othersLength; j++) if (ids[j] === id) same++
    return same < this.caps[level]!
  }

  private walk (p: number, node: TierNode, level: number): number {
    const kids = node.children
    const stamp = ++this.walkStamp
    const tried = this.tried[level]!
    for (;;) {
      let best: TierNode | undefined
      let bestScore = -1
      for (const kid of kids) {
        if (tried[kid.index] === stamp) continue
        const need = level === DEVICE ? this.deviceNeed(kid.index) : this.need[level]![kid.index]!
        if (need <= 0 || !this.levelFits(level, kid.index)) continue
        // Most need first; the rendezvous score breaks ties so equal domains share evenly.
        const s = need * 1048576 + (score(this.salt, p, kid.index) & 0xfffff)
        if (s > bestScore) {
          best = kid
          bestScore = s
        }
      }
      if (best === undefined) return -1
      if (level === DEVICE) return best.index
      const found = this.walk(p, best, level + 1)
      if (found >= 0) return found
      tried[best.index] = stamp
    }
  }

  private recount (d: number, delta: number): void {
    const needBefore = this.deviceNeed(d)
    const excessBefore = this.deviceExcess(d)
    this.count[d]! += delta
    this.addNeed(d, this.deviceNeed(d) - needBefore)
    this.totalExcess += this.deviceExcess(d) - excessBefore
  }

  private addNeed (d: number, delta: number): void {
    if (delta === 0) return
    this.totalNeed += delta
    for (let level = REGION; level <= HOST; level++) this.need[level]![this.tierOf[level]![d]!]! += delta
  }
}
