import { Augmenter } from './augment.ts'
import { makeRoom, shedAround } from './detours.ts'
import { mix32 } from './hash.ts'
import { NONE } from './limits.ts'
import { Placement } from './placement.ts'
import { computeTargets } from './targets.ts'
import { buildTiers } from './tiers.ts'
import type { Device, DeviceShare } from './types.ts'

export interface RebalanceInput {
  partPower: number
  replicas: number
  minPartHours: number
  seed: bigint
  version: number
  devices: ReadonlyArray<Device | undefined>
  /** Devices whose replicas must all move; they take no part in placement. */
  removing: ReadonlySet<number>
  assignment: readonly Uint16Array[]
  /** Per partition: minutes since the epoch of its last move, 0 for never. */
  lastMove: Uint32Array
  /** Milliseconds since the epoch. */
  now: number
}

export interface RebalanceOutcome {
  assignment: Uint16Array[]
  lastMove: Uint32Array
  moved: number
  minimumMoves: number
  balance: number
  dispersion: number
  devices: DeviceShare[]
  warnings: string[]
}

/**
 * Moves as few partition-replicas as it can toward the weight/dispersion
 * targets (targets.ts). Moves are counted on device sets, so which replica
 * of a partition moves is left open until the end (Placement.normalize).
 * 1. gather what must move: replicas on removed devices, and (where
 *    min_part_hours allows) replicas that break a dispersion cap;
 * 2. place those on devices with room, walking the tier tree; a replica
 *    that fits only full devices gets in by one of their replicas stepping
 *    aside (detours.ts);
 * 3. shed the excess of over-target devices straight onto devices with
 *    room, the devices losing the largest share of what they hold first
 *    (they have the fewest ways out), one replica per partition before any
 *    second one, never a partition moved within min_part_hours; then by
 *    one-step detours;
 * 4. settle what is left with shortest augmenting paths and cancel negative
 *    cycles (augment.ts): exact, so the total matches a min-cost flow on
 *    every ring small enough to check (test/ring/movement.test.ts), but
 *    costly per replica, which is why the sweeps above do the bulk.
 * Removals force moves regardless of min_part_hours; the result always
 * assigns every replica.
 */
export function rebalance (input: RebalanceInput): RebalanceOutcome {
  const parts = 2 ** input.partPower
  const tiers = buildTiers(input.devices, input.removing, input.replicas)
  const target = computeTargets(tiers, parts)
  const salt = mix32(Number(input.seed & 0xffffffffn) ^ mix32(input.version))
  const pl = new Placement(tiers, target, input.assignment, salt)
  const nowMinutes = Math.max(1, Math.floor(input.now / 60_000))
  const holdMinutes = input.minPartHours * 60
  const lastMove = input.lastMove.slice()
  const movable = (p: number): boolean => lastMove[p] === 0 || nowMinutes - lastMove[p]! >= holdMinutes
  const order = visitOrder(parts, salt)
  const warnings: string[] = []

  let minimumMoves = pl.totalExcess
  for (const row of pl.assign) {
    for (let p = 0; p < parts; p++) {
      const d = row[p]!
      if (d === NONE || tiers.live[d] !== 1) minimumMoves++
    }
  }

  gatherRemoved(pl)
  gatherForDispersion(pl, order, movable)
  const stuck = makeRoom(pl, order, movable, placeGathered(pl, order))
  if (pl.totalExcess > 0 && pl.totalNeed > 0) {
    for (const ratio of [0.5, 0.2, 0]) shed(pl, order, movable, true, ratio)
    shed(pl, order, movable, false, 0)
    shedAround(pl, order, movable)
  }
  if (stuck.length > 0 || (pl.totalExcess > 0 && pl.totalNeed > 0) || pl.movedCount > minimumMoves) {
    const augmenter = new Augmenter(pl, movable)
    const unplaced = stuck.filter((slot) => !augmenter.place(slot))
    relieveAll(pl, augmenter)
    if (pl.movedCount > minimumMoves) augmenter.cancelCycles()
    if (augmenter.exhausted) warnings.push('the search for fewer moves hit its work limit; this rebalance may move more than it must')
    if (unplaced.length > 0) {
      for (const slot of unplaced) placeAnywhere(pl, slot)
      warnings.push(`${unplaced.length} partition-replicas were placed beyond their device's target or dispersion cap`)
    }
  }

  pl.normalize()
  let moved = 0
  for (let r = 0; r < input.replicas; r++) {
    const now = pl.assign[r]!
    const before = input.assignment[r]!
    for (let p = 0; p < parts; p++) {
      if (now[p] === before[p]) continue
      moved++
      // A first placement moves no data, so it does not start the clock.
      if (before[p] !== NONE) lastMove[p] = nowMinutes
    }
  }

  if (tiers.weightedIds.length < input.replicas) {
    warnings.push(`${input.replicas} replicas but only ${tiers.weightedIds.length} devices with weight > 0: some partitions keep several replicas on one device`)
  }
  if (pl.totalExcess > 0) {
    warnings.push(`${pl.totalExcess} partition-replicas stay over their device's target (min_part_hours ${input.minPartHours} or dispersion held them)`)
  }
  const { devices, balance } = shares(input.devices, input.removing, target, pl.count)
  return { assignment: pl.assign, lastMove, moved, minimumMoves, balance, dispersion: dispersion(pl), devices, warnings }
}

/**
 * Partitions in a scattered but deterministic order (odd stride modulo a
 * power of two visits each once), so the replicas a device sheds are spread
 * over the ring instead of bunched at its start.
 */
function visitOrder (parts: number, salt: number): (i: number) => number {
  const mask = parts - 1
  const start = mix32(salt ^ 0x2545f491) & mask
  const stride = (mix32(salt ^ 0x5bd1e995) | 1) & mask
  return (i) => (start + Math.imul(i, stride)) & mask
}

function gatherRemoved (pl: Placement): void {
  pl.assign.forEach((row, r) => {
    for (let p = 0; p < row.length; p++) {
      const d = row[p]!
      if (d !== NONE && pl.tiers.live[d] !== 1) pl.move(r, p, NONE)
    }
  })
}

function gatherForDispersion (pl: Placement, order: (i: number) => number, movable: (p: number) => boolean): void {
  for (let i = 0; i < pl.parts; i++) {
    const p = order(i)
    if (!movable(p)) continue
    for (let r = pl.worstViolator(p); r >= 0; r = pl.worstViolator(p)) pl.move(r, p, NONE)
  }
}

/** Places every unassigned replica on a device with room; returns the slots that found none. */
function placeGathered (pl: Placement, order: (i: number) => number): number[] {
  const stuck: number[] = []
  const shift = Math.log2(pl.parts)
  for (let i = 0; i < pl.parts; i++) {
    const p = order(i)
    for (let r = 0; r < pl.replicas; r++) {
      if (pl.assign[r]![p] !== NONE) continue
      const d = pl.findNeedy(p, r)
      if (d >= 0) pl.move(r, p, d)
      else stuck.push((r << shift) | p)
    }
  }
  return stuck
}

function shed (pl: Placement, order: (i: number) => number, movable: (p: number) => boolean, firstReplicaOnly: boolean, ratio: number): void {
  for (let i = 0; i < pl.parts && pl.totalExcess > 0 && pl.totalNeed > 0; i++) {
    const p = order(i)
    if (!movable(p) || (firstReplicaOnly && pl.moved[p]! > 0)) continue
    for (let k = 0; k < pl.replicas; k++) {
      const r = (p + k) % pl.replicas
      const d = pl.assign[r]![p]!
      if (d === NONE || !pl.isOver(d) || pl.count[d]! - pl.target[d]! < ratio * pl.count[d]!) continue
      const to = pl.findNeedy(p, r)
      if (to < 0) continue
      pl.move(r, p, to)
      if (firstReplicaOnly) break
    }
  }
}

function relieveAll (pl: Placement, augmenter: Augmenter): void {
  const hopeless = new Uint8Array(pl.tiers.size)
  for (let progress = true; progress && pl.totalExcess > 0 && pl.totalNeed > 0;) {
    progress = false
    for (let d = 0; d < pl.tiers.size; d++) {
      while (hopeless[d] === 0 && pl.isOver(d) && pl.totalNeed > 0) {
        if (augmenter.relieve(d)) progress = true
        else hopeless[d] = 1
      }
    }
  }
}

/** Last resort for a replica with no valid device: the least bad one. */
function placeAnywhere (pl: Placement, slot: number): void {
  const shift = Math.log2(pl.parts)
  const r = slot >>> shift
  const p = slot & (pl.parts - 1)
  let best = -1
  let bestRank = -Infinity
  pl.loadOthers(p, r)
  for (const d of pl.tiers.weightedIds) {
    const distinct = pl.assign.every((row) => row[p] !== d)
    const rank = (pl.fits(d) ? 2e9 : 0) + (distinct ? 1e9 : 0) + pl.target[d]! - pl.count[d]!
    if (rank > bestRank) {
      best = d
      bestRank = rank
    }
  }
  pl.move(r, p, best)
}

export function dispersion (pl: Placement): number {
  let spread = 0
  for (let p = 0; p < pl.parts; p++) if (pl.violates(p)) spread++
  return round2(100 * spread / pl.parts)
}

export function shares (devices: ReadonlyArray<Device | undefined>, removing: ReadonlySet<number>, target: Int32Array, count: Int32Array):
{ devices: DeviceShare[], balance: number } {
  const out: DeviceShare[] = []
  let balance = 0
  for (const dev of devices) {
    if (dev === undefined || removing.has(dev.id)) continue
    const parts = count[dev.id] ?? 0
    const want = target[dev.id] ?? 0
    const share = round2(100 * (parts - want) / Math.max(want, 1))
    balance = Math.max(balance, Math.abs(share))
    out.push({ id: dev.id, weight: dev.weight, parts, target: want, balance: share })
  }
  return { devices: out, balance }
}

function round2 (x: number): number {
  return Math.round(x * 100) / 100
}
