import { NONE } from './limits.ts'
import type { Placement } from './placement.ts'
import { DeviceSlots } from './device-slots.ts'

// Path costs, in half-moves so a tie-break fits between whole moves.
const LEAVE_HOME = 2
const SECOND_REPLICA = 1
const RETURN_HOME = -2
const SOURCE = -2
/** Replicas a nearby search reads per device before giving up on it. */
const NEARBY_LIMIT = 256
/**
 * Work (replica-device checks) the searches may spend per partition-replica
 * of the ring, so a pathological rebalance ends in time linear in the ring
 * size, a little above the minimum moves, rather than running for hours.
 */
const WORK_PER_REPLICA = 100
const MIN_WORK = 50_000_000

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
  /** Every replica on each device. */
  private readonly slots: DeviceSlots
  /** Replicas that arrived on each device in this rebalance (moving them on is free). */
  private readonly arrived: DeviceSlots
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
  /** The last search met a negative cycle. */
  private looped = false
  private work = 0
  private readonly budget: number

  constructor (pl: Placement, movable: (p: number) => boolean) {
    this.pl = pl
    this.movable = movable
    this.shift = Math.log2(pl.parts)
    this.mask = pl.parts - 1
    this.nodes = pl.tiers.weightedIds
    const n = this.nodes.length
    this.nodeOf = new Int32Array(pl.tiers.size).fill(-1)
    this.nodes.forEach((d, k) => { this.nodeOf[d] = k })
    this.slots = new DeviceSlots(n, (k) => pl.count[this.nodes[k]!]!)
    this.arrived = new DeviceSlots(n, () => 0)
    pl.assign.forEach((row, r) => {
      for (let p = 0; p < row.length; p++) {
        const d = row[p]!
        const k = this.nodeOf[d] ?? -1
        if (k < 0) continue
        this.slots.push(k, (r << this.shift) | p)
        if (!pl.originHas(p, d)) this.arrived.push(k, (r << this.shift) | p)
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
    this.budget = Math.max(MIN_WORK, WORK_PER_REPLICA * pl.parts * pl.replicas)
  }

  /** Whether the searches gave up on their work budget (the result may move more than needed). */
  get exhausted (): boolean {
    return this.work > this.budget
  }

  /** Places the unassigned replica `slot` (r << partPower | p); false when no path exists. */
  place (slot: number): boolean {
    return this.placeNearby(slot) || this.settle(() => this.searchFromSlot(slot))
  }

  /** Takes one replica off over-target device `d` toward a device with room; false when no path exists. */
  relieve (d: number): boolean {
    return this.settle(() => this.searchFromDevice(d))
  }

  /**
   * The common case, found cheaply: a device the replica fits is full, but
   * one of its replicas can step aside onto a device with room. A replica
   * that already moved in this rebalance steps aside for free; otherwise one
   * whose partition has not moved yet costs one move. Each device's lists
   * are read from where the last search stopped, a bounded number at a time.
   */
  private placeNearby (slot: number): boolean {
    const pl = this.pl
    const r = slot >>> this.shift
    const p = slot & this.mask
    pl.loadOthers(p, r)
    const fitting: number[] = []
    for (let k = 0; k < this.nodes.length; k++) if (pl.fits(this.nodes[k]!)) fitting.push(k)
    this.work += fitting.length * NEARBY_LIMIT * 2
    for (const free of [true, false]) {
      for (const k of fitting) {
        const y = this.nodes[k]!
        let to = -1
        const take = (q: number): boolean => {
          const pq = q & this.mask
          if (pq === p || pl.assign[q >>> this.shift]![pq] !== y) return false
          if (!free && (pl.moved[pq] !== 0 || !this.movable(pq))) return false
          to = pl.findNeedy(pq, q >>> this.shift)
          return to >= 0
        }
        const q = (free ? this.arrived : this.slots).next(k, NEARBY_LIMIT, take)
        if (q >= 0 && this.apply([{ slot: q, from: y, to }, { slot, from: NONE, to: y }])) return true
      }
    }
    return false
  }

  /**
   * Runs a search and applies its path. A search that runs into a negative
   * cycle (a rotation that would save moves; the detour sweeps can leave
   * some) finds no sound path: cancel the cycles and search once more.
   */
  private settle (search: () => number): boolean {
    if (this.exhausted) return false
    let hops = this.pathTo(search())
    if (this.looped) {
      this.cancelCycles()
      hops = this.pathTo(search())
    }
    return this.apply(hops)
  }

  private searchFromSlot (slot: number): number {
    const r = slot >>> this.shift
    const p = slot & this.mask
    this.reset(-1)
    this.pl.loadOthers(p, r)
    for (let k = 0; k < this.nodes.length; k++) {
      const v = this.nodes[k]!
      if (!this.pl.fits(v)) continue
      this.relax(k, this.pl.originHas(p, v) ? RETURN_HOME : 0, SOURCE, slot)
    }
    return this.run()
  }

  private searchFromDevice (d: number): number {
    const source = this.nodeOf[d] ?? -1
    this.reset(source)
    if (source >= 0) {
      this.dist[source] = 0
      this.enqueue(source)
    } else {
      // A device with weight 0 is no node of the graph; its replicas are its edges.
      this.expand(SOURCE, 0, this.scanRow(d, -1, this.scratch))
    }
    return this.run()
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
      this.work += this.nodes.length
      this.expand(u, this.dist[u]!, this.row(u))
    }
    this.looped = this.head !== this.tail
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
    while (!this.exhausted) {
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
      this.work += n * n
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

  /** The path ending at `sink`; undefined if there is none (a loop among parent links counts as a negative cycle). */
  private pathTo (sink: number): Hop[] | undefined {
    if (sink < 0) return undefined
    const hops = this.hopsBack(sink, SOURCE)
    if (hops === undefined) this.looped = true
    return hops
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
    for (const h of hops) {
      const k = this.nodeOf[h.to]!
      this.slots.push(k, h.slot)
      if (!pl.originHas(h.slot & this.mask, h.to)) this.arrived.push(k, h.slot)
    }
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
    const list = k >= 0 ? this.slots.live(k, (q) => pl.assign[q >>> this.shift]![q & this.mask] === d) : this.slotsOf(d)
    this.work += list.length
    for (const q of list) {
      const r = q >>> this.shift
      const p = q & this.mask
      if (pl.moved[p] === 0) continue
      this.work += n
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
      this.work += n
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

  /** Replicas on a device outside the graph (weight 0), found by a scan. */
  private slotsOf (d: number): Int32Array {
    this.work += this.pl.parts * this.pl.replicas
    const out: number[] = []
    this.pl.assign.forEach((row, r) => {
      for (let p = 0; p < row.length; p++) if (row[p] === d) out.push((r << this.shift) | p)
    })
    return Int32Array.from(out)
  }
}
