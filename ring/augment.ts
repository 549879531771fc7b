import { NONE } from './limits.ts'
import type { Placement } from './placement.ts'

// Path costs, in half-moves so a tie-break fits between whole moves.
const LEAVE_HOME = 2
const SECOND_REPLICA = 1
const RETURN_HOME = -2
const SOURCE = -2

/** One replica's step along a path or cycle. */
interface Hop {
  slot: number
  from: number
  to: number
}

/** Per target device: the cheapest edge's cost and the replica slot it moves. */
interface Row {
  cost: Float64Array
  slot: Int32Array
}

/**
 * Shortest augmenting paths over devices, for what greedy placement left
 * over: a replica with nowhere to go, or a device still over its target
 * whose replicas fit no device with room. An edge u -> v means "some replica
 * on u may move to v"; it costs nothing when that replica already moved in
 * this rebalance, one move when it has not (and a little more when another
 * replica of its partition already moved), and gives one back when it
 * returns to where it started. A path ending on a device with room shifts
 * each replica one hop, so a chain through replicas that are moving anyway
 * keeps the total at the minimum.
 */
export class Augmenter {
  private readonly pl: Placement
  private readonly movable: (p: number) => boolean
  private readonly shift: number
  private readonly mask: number
  private readonly nodes: Int32Array
  private readonly nodeOf: Int32Array
  private readonly slots: Int32Array[]
  private readonly lengths: Int32Array
  private readonly rows: Row[]
  private readonly rowValid: Uint8Array
  private readonly dist: Float64Array
  private readonly parent: Int32Array
  private readonly parentSlot: Int32Array
  private readonly queued: Uint8Array
  private readonly queue: Int32Array
  private readonly scratch: Row
  private head = 0
  private tail = 0
  /** The device a relieve() search starts from; never re-entered. */
  private source = -1

  constructor (pl: Placement, movable: (p: number) => boolean) {
    this.pl = pl
    this.movable = movable
    this.shift = Math.log2(pl.parts)
    this.mask = pl.parts - 1
    this.nodes = pl.tiers.weightedIds
    const n = this.nodes.length
    this.nodeOf = new Int32Array(pl.tiers.size).fill(-1)
    this.nodes.forEach((d, k) => { this.nodeOf[d] = k })
    this.lengths = new Int32Array(n)
    this.slots = Array.from(this.nodes, (d) => new Int32Array(pl.count[d]! + 16))
    pl.assign.forEach((row, r) => {
      for (let p = 0; p < row.length; p++) {
        const k = this.nodeOf[row[p]!] ?? -1
        if (k >= 0) this.push(k, (r << this.shift) | p)
      }
    })
    this.rows = Array.from(this.nodes, () => ({ cost: new Float64Array(n), slot: new Int32Array(n) }))
    this.rowValid = new Uint8Array(n)
    this.dist = new Float64Array(n)
    this.parent = new Int32Array(n)
    this.parentSlot = new Int32Array(n)
    this.queued = new Uint8Array(n)
    this.queue = new Int32Array(n + 1)
    this.scratch = { cost: new Float64Array(n), slot: new Int32Array(n) }
  }

  /** Places the unassigned replica `slot` (r << partPower | p); false when no path exists. */
  place (slot: number): boolean {
    const r = slot >>> this.shift
    const p = slot & this.mask
    this.reset(-1)
    this.pl.loadOthers(p, r)
    for (let k = 0; k < this.nodes.length; k++) {
      const v = this.nodes[k]!
      if (!this.pl.fits(v)) continue
      this.relax(k, this.pl.originHas(p, v) ? RETURN_HOME : 0, SOURCE, slot)
    }
    return this.apply(this.pathTo(this.run()))
  }

  /** Takes one replica off over-target device `d` toward a device with room; false when no path exists. */
  relieve (d: number): boolean {
    const source = this.nodeOf[d] ?? -1
    this.reset(source)
    if (source >= 0) {
      this.dist[source] = 0
      this.enqueue(source)
    } else {
      // A device with weight 0 is no node of the graph; its replicas are its edges.
      this.expand(SOURCE, 0, this.scanRow(d, -1, this.scratch))
    }
    return this.apply(this.pathTo(this.run()))
  }

  private reset (source: number): void {
    this.source = source
    this.dist.fill(Infinity)
    this.parent.fill(-1)
    this.queued.fill(0)
    this.head = 0
    this.tail = 0
  }

  private enqueue (k: number): void {
    if (this.queued[k] === 1) return
    this.queued[k] = 1
    this.queue[this.tail] = k
    this.tail = (this.tail + 1) % this.queue.length
  }

  private relax (k: number, cost: number, from: number, slot: number): void {
    if (k === this.source || cost >= this.dist[k]!) return
    this.dist[k] = cost
    this.parent[k] = from
    this.parentSlot[k] = slot
    this.enqueue(k)
  }

  private expand (u: number, base: number, row: Row): void {
    for (let k = 0; k < this.nodes.length; k++) {
      const c = row.cost[k]!
      if (c !== Infinity) this.relax(k, base + c, u, row.slot[k]!)
    }
  }

  /** Label-correcting search (costs may be negative); returns the cheapest device with room, or -1. */
  private run (): number {
    const source = this.source
    const pl = this.pl
    let budget = this.nodes.length * this.nodes.length * 4
    while (this.head !== this.tail && budget-- > 0) {
      const u = this.queue[this.head]!
      this.head = (this.head + 1) % this.queue.length
      this.queued[u] = 0
      if (u !== source && pl.deviceNeed(this.nodes[u]!) > 0) continue
      this.expand(u, this.dist[u]!, this.row(u))
    }
    let best = -1
    for (let k = 0; k < this.nodes.length; k++) {
      if (k === source || this.dist[k] === Infinity || pl.deviceNeed(this.nodes[k]!) <= 0) continue
      if (best < 0 || this.dist[k]! < this.dist[best]! ||
        (this.dist[k] === this.dist[best] && pl.deviceNeed(this.nodes[k]!) > pl.deviceNeed(this.nodes[best]!))) best = k
    }
    return best
  }

  /**
   * Cancels negative cycles: rotations of replicas among devices that keep
   * every device's count but bring more replicas home than they send away.
   * Each one applied lowers the number of moves, so this ends.
   */
  cancelCycles (): void {
    for (;;) {
      const hops = this.negativeCycle()
      if (hops === undefined || !this.apply(hops)) return
    }
  }

  /** Bellman-Ford from every node at once; a cycle among parent links is a negative cycle. */
  private negativeCycle (): Hop[] | undefined {
    const n = this.nodes.length
    this.source = -1
    this.dist.fill(0)
    this.parent.fill(-1)
    for (let round = 0; round < n; round++) {
      let updated = false
      for (let u = 0; u < n; u++) {
        const row = this.row(u)
        const base = this.dist[u]!
        for (let v = 0; v < n; v++) {
          const c = base + row.cost[v]!
          if (c >= this.dist[v]!) continue
          this.dist[v] = c
          this.parent[v] = u
          this.parentSlot[v] = row.slot[v]!
          updated = true
        }
      }
      if (!updated) return undefined
      const start = this.parentCycle()
      if (start >= 0) return this.hopsBack(start, start)
    }
    return undefined
  }

  /** A node on a cycle of parent links, or -1. */
  private parentCycle (): number {
    const n = this.nodes.length
    const seen = this.queued
    seen.fill(0)
    for (let k = 0; k < n; k++) {
      if (seen[k] !== 0) continue
      let x = k
      // 1: on the walk that starts at k; 2: finished, leads to no cycle.
      while (x >= 0 && seen[x] === 0) {
        seen[x] = 1
        x = this.parent[x]!
      }
      const found = x >= 0 && seen[x] === 1 ? x : -1
      for (let y = k; y >= 0 && seen[y] === 1; y = this.parent[y]!) seen[y] = 2
      if (found >= 0) return found
    }
    return -1
  }

  /** The path ending at `sink`; undefined if no source is reached. */
  private pathTo (sink: number): Hop[] | undefined {
    if (sink < 0) return undefined
    return this.hopsBack(sink, SOURCE)
  }

  /** Hops along parent links from `k` back to `stop` (a node, or SOURCE / the relieved device). */
  private hopsBack (k: number, stop: number): Hop[] | undefined {
    const hops: Hop[] = []
    for (;;) {
      const slot = this.parentSlot[k]!
      hops.push({ slot, from: this.pl.assign[slot >>> this.shift]![slot & this.mask]!, to: this.nodes[k]! })
      const u = this.parent[k]!
      if (u === stop || u === SOURCE || (u >= 0 && u === this.source)) return hops
      if (u < 0 || hops.length > this.nodes.length) return undefined
      k = u
    }
  }

  /** Moves every hop's replica; undoes them all if two hops clash over one partition. */
  private apply (hops: Hop[] | undefined): boolean {
    if (hops === undefined) return false
    const pl = this.pl
    const parts = new Set(hops.map((h) => h.slot & this.mask))
    const clashedBefore = new Set([...parts].filter((p) => pl.violates(p)))
    for (const h of hops) pl.move(h.slot >>> this.shift, h.slot & this.mask, h.to)
    if ([...parts].some((p) => !clashedBefore.has(p) && pl.violates(p))) {
      for (const h of [...hops].reverse()) pl.move(h.slot >>> this.shift, h.slot & this.mask, h.from)
      return false
    }
    for (const h of hops) this.push(this.nodeOf[h.to]!, h.slot)
    for (const p of parts) {
      for (const row of pl.assign) this.invalidate(row[p]!)
    }
    for (const h of hops) this.invalidate(h.from)
    return true
  }

  private invalidate (d: number): void {
    const k = d === NONE ? -1 : this.nodeOf[d] ?? -1
    if (k >= 0) this.rowValid[k] = 0
  }

  private row (k: number): Row {
    const row = this.rows[k]!
    if (this.rowValid[k] === 1) return row
    this.scanRow(this.nodes[k]!, k, row)
    this.rowValid[k] = 1
    return row
  }

  /**
   * The cheapest replica on device `d` to send to each device. Costs count
   * device sets: a replica leaving a device that held its partition before
   * the rebalance is a move, one arriving on such a device undoes one, so
   * "move this replica instead of that one" is an edge too. Partitions
   * already touched go first (only they have cheap edges); untouched ones
   * are scanned only until every device has a one-move edge.
   */
  private scanRow (d: number, k: number, row: Row): Row {
    const { cost, slot } = row
    const pl = this.pl
    const n = this.nodes.length
    cost.fill(Infinity)
    const list = k >= 0 ? this.compact(k) : this.slotsOf(d)
    for (const q of list) {
      const r = q >>> this.shift
      const p = q & this.mask
      if (pl.moved[p] === 0) continue
      const leaves = pl.originHas(p, d)
      if (leaves && !this.movable(p)) continue
      pl.loadOthers(p, r)
      for (let j = 0; j < n; j++) {
        if (j === k) continue
        const v = this.nodes[j]!
        const c = pl.originHas(p, v) ? (leaves ? 0 : RETURN_HOME) : (leaves ? LEAVE_HOME + SECOND_REPLICA : 0)
        if (c < cost[j]! && pl.fits(v)) {
          cost[j] = c
          slot[j] = q
        }
      }
    }
    let open = 0
    for (let j = 0; j < n; j++) if (j !== k && cost[j]! > LEAVE_HOME) open++
    for (const q of list) {
      if (open === 0) break
      const p = q & this.mask
      if (pl.moved[p] !== 0 || !this.movable(p)) continue
      pl.loadOthers(p, q >>> this.shift)
      for (let j = 0; j < n; j++) {
        if (j === k || cost[j]! <= LEAVE_HOME || !pl.fits(this.nodes[j]!)) continue
        open--
        cost[j] = LEAVE_HOME
        slot[j] = q
      }
    }
    return row
  }

  /** Drops stale entries (replicas that moved away) from a device's list and returns it. */
  private compact (k: number): Int32Array {
    const list = this.slots[k]!
    const d = this.nodes[k]!
    let n = 0
    for (let i = 0; i < this.lengths[k]!; i++) {
      const q = list[i]!
      if (this.pl.assign[q >>> this.shift]![q & this.mask] === d) list[n++] = q
    }
    this.lengths[k] = n
    return list.subarray(0, n)
  }

  /** Replicas on a device outside the graph (weight 0), found by a scan. */
  private slotsOf (d: number): Int32Array {
    const out: number[] = []
    this.pl.assign.forEach((row, r) => {
      for (let p = 0; p < row.length; p++) if (row[p] === d) out.push((r << this.shift) | p)
    })
    return Int32Array.from(out)
  }

  private push (k: number, slot: number): void {
    let list = this.slots[k]!
    const n = this.lengths[k]!
    if (n === list.length) {
      const grown = new Int32Array(list.length * 2 + 16)
      grown.set(list)
      this.slots[k] = list = grown
    }
    list[n] = slot
    this.lengths[k] = n + 1
  }
}
