import { NONE } from '../../ring/limits.ts'
import type { Tiers } from '../../ring/tiers.ts'
import type { DeviceSpec, RingBuilder } from '../../ring/index.ts'

/** A small seeded PRNG (mulberry32) so property tests are reproducible. */
export function prng (seed: number): { next: () => number, int: (n: number) => number, pick: <T>(xs: readonly T[]) => T } {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  return { next, int, pick: (xs) => xs[int(xs.length)]! }
}

export function spec (zone: number, n: number, weight = 100, region = 1): DeviceSpec {
  return { region, zone, host: `10.${region}.${zone}.${n}`, port: 6200, device: `d${n}`, weight }
}

/** Builder state copied out: one array of device ids per replica. */
export function snapshot (builder: RingBuilder): Uint16Array[] {
  return builder.toState().assignment.map((row) => row.slice())
}

/** Partition-replicas per device id. */
export function holdings (builder: RingBuilder): Map<number, number> {
  const out = new Map<number, number>()
  for (const row of builder.toState().assignment) for (const d of row) out.set(d, (out.get(d) ?? 0) + 1)
  return out
}

export function changedSlots (before: Uint16Array[], after: Uint16Array[]): Array<{ r: number, p: number, from: number, to: number }> {
  const out: Array<{ r: number, p: number, from: number, to: number }> = []
  before.forEach((row, r) => {
    for (let p = 0; p < row.length; p++) if (row[p] !== after[r]![p]) out.push({ r, p, from: row[p]!, to: after[r]![p]! })
  })
  return out
}

/**
 * The fewest partition-replica moves that reach the plan's targets under the
 * dispersion caps, by min-cost flow over (partition, region, zone, host)
 * copies of the tier tree. Only for small rings: it is the yardstick the
 * rebalance is held to, not something to run in production.
 */
export function exactMinimumMoves (tiers: Tiers, target: Int32Array, assignment: readonly Uint16Array[]): number {
  const replicas = assignment.length
  const parts = assignment[0]!.length
  const head: number[] = []
  const to: number[] = []
  const cap: number[] = []
  const cost: number[] = []
  const next: number[] = []
  const node = (): number => head.push(-1) - 1
  const edge = (u: number, v: number, c: number, w: number): void => {
    for (const [a, b, cc, ww] of [[u, v, c, w], [v, u, 0, -w]] as const) {
      to.push(b)
      cap.push(cc)
      cost.push(ww)
      next.push(head[a]!)
      head[a] = to.length - 1
    }
  }
  const source = node()
  const sink = node()
  const deviceNode = new Map<number, number>()
  for (const d of tiers.weightedIds) {
    const x = node()
    deviceNode.set(d, x)
    edge(x, sink, target[d]!, 0)
  }
  for (let p = 0; p < parts; p++) {
    const held = new Set(assignment.map((row) => row[p]!).filter((d) => d !== NONE))
    const pn = node()
    edge(source, pn, replicas, 0)
    for (const region of tiers.root.children) {
      const rn = node()
      edge(pn, rn, tiers.caps.region, 0)
      for (const zone of region.children) {
        const zn = node()
        edge(rn, zn, tiers.caps.zone, 0)
        for (const host of zone.children) {
          const hn = node()
          edge(zn, hn, tiers.caps.host, 0)
          for (const dev of host.children) edge(hn, deviceNode.get(dev.index)!, tiers.caps.device, held.has(dev.index) ? -1 : 0)
        }
      }
    }
  }
  const n = head.length
  const dist = new Float64Array(n)
  const via = new Int32Array(n)
  const queued = new Uint8Array(n)
  let flow = 0
  let total = 0
  for (;;) {
    dist.fill(Infinity)
    dist[source] = 0
    const queue = [source]
    for (let i = 0; i < queue.length; i++) {
      const u = queue[i]!
      queued[u] = 0
      for (let e = head[u]!; e >= 0; e = next[e]!) {
        const v = to[e]!
        if (cap[e]! > 0 && dist[u]! + cost[e]! < dist[v]!) {
          dist[v] = dist[u]! + cost[e]!
          via[v] = e
          if (queued[v] === 0) {
            queued[v] = 1
            queue.push(v)
          }
        }
      }
    }
    if (dist[sink] === Infinity) break
    let f = Infinity
    for (let v = sink; v !== source; v = to[via[v]! ^ 1]!) f = Math.min(f, cap[via[v]!]!)
    for (let v = sink; v !== source; v = to[via[v]! ^ 1]!) {
      cap[via[v]!]! -= f
      cap[via[v]! ^ 1]! += f
    }
    flow += f
    total += f * dist[sink]!
  }
  if (flow !== parts * replicas) throw new Error('targets cannot be met under the caps')
  return parts * replicas + total
}
