import { RingError } from './errors.ts'
import { MAX_DEVICE_ID, MAX_PART_POWER, MAX_REPLICAS, MIN_PART_POWER, NONE } from './limits.ts'
import { Placement } from './placement.ts'
import { dispersion, rebalance, shares } from './rebalance.ts'
import { computeTargets } from './targets.ts'
import { buildTiers } from './tiers.ts'
import type { Device, DeviceShare, DeviceSpec, RebalanceReport, RingData } from './types.ts'

/** Everything a builder file holds. */
export interface BuilderState {
  partPower: number
  replicas: number
  minPartHours: number
  seed: bigint
  /** 0 until the first rebalance. */
  version: number
  /** Indexed by id; removed ids are holes. */
  devices: Array<Device | undefined>
  /** Devices marked for removal; they go at the next rebalance. */
  removing: number[]
  assignment: Uint16Array[]
  /** Per partition: minutes since the epoch of its last move, 0 for never. */
  lastMove: Uint32Array
  /** Devices changed since the last rebalance (so the next one bumps the version). */
  dirty: boolean
}

export interface CreateOptions {
  partPower: number
  replicas: number
  /** Hours a moved partition is left alone before it may move again (default 1). */
  minPartHours?: number
  /** The secret hash seed; random when omitted. */
  seed?: bigint
}

export interface DeviceStatus extends Device {
  /** Marked for removal, gone at the next rebalance. */
  removing: boolean
}

export interface Assessment {
  devices: DeviceShare[]
  balance: number
  dispersion: number
}

/**
 * The source of truth for a ring: devices, their weights, the assignment and
 * each partition's last move. Operators edit devices here and rebalance;
 * servers only ever see the ring data it produces.
 */
export class RingBuilder {
  private readonly state: BuilderState

  private constructor (state: BuilderState) {
    this.state = state
  }

  static create (options: CreateOptions): RingBuilder {
    const { partPower, replicas } = options
    const minPartHours = options.minPartHours ?? 1
    if (!Number.isInteger(partPower) || partPower < MIN_PART_POWER || partPower > MAX_PART_POWER) {
      throw new RingError('InvalidArgument', `part power must be an integer from ${MIN_PART_POWER} to ${MAX_PART_POWER}, got ${partPower}`)
    }
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > MAX_REPLICAS) {
      throw new RingError('InvalidArgument', `replicas must be an integer from 1 to ${MAX_REPLICAS}, got ${replicas}`)
    }
    if (!Number.isInteger(minPartHours) || minPartHours < 0 || minPartHours > 24 * 365) {
      throw new RingError('InvalidArgument', `min_part_hours must be an integer from 0 to 8760, got ${minPartHours}`)
    }
    const parts = 2 ** partPower
    return new RingBuilder({
      partPower,
      replicas,
      minPartHours,
      seed: options.seed ?? crypto.getRandomValues(new BigUint64Array(1))[0]!,
      version: 0,
      devices: [],
      removing: [],
      assignment: Array.from({ length: replicas }, () => new Uint16Array(parts).fill(NONE)),
      lastMove: new Uint32Array(parts),
      dirty: false
    })
  }

  /** Adopts a state read from a file, after checking it hangs together. */
  static fromState (state: BuilderState): RingBuilder {
    checkState(state)
    return new RingBuilder(state)
  }

  /** The live state, for writing to a file; do not edit it. */
  toState (): Readonly<BuilderState> {
    return this.state
  }

  get partPower (): number { return this.state.partPower }
  get replicas (): number { return this.state.replicas }
  get minPartHours (): number { return this.state.minPartHours }
  get version (): number { return this.state.version }
  get partitionCount (): number { return 2 ** this.state.partPower }

  devices (): DeviceStatus[] {
    const removing = new Set(this.state.removing)
    return this.state.devices.flatMap((d) => d === undefined ? [] : [{ ...d, removing: removing.has(d.id) }])
  }

  /** Adds a device and returns its id: the lowest free one. */
  addDevice (spec: DeviceSpec): number {
    checkSpec(spec)
    const clash = this.state.devices.find((d) => d !== undefined && d.host === spec.host && d.port === spec.port && d.device === spec.device)
    if (clash !== undefined) {
      throw new RingError('InvalidArgument', `device ${spec.host}:${spec.port}/${spec.device} already exists as id ${clash.id}`)
    }
    let id = this.state.devices.findIndex((d) => d === undefined)
    if (id < 0) id = this.state.devices.length
    if (id > MAX_DEVICE_ID) throw new RingError('InvalidArgument', `no free device id (at most ${MAX_DEVICE_ID + 1} devices)`)
    this.state.devices[id] = { id, region: spec.region, zone: spec.zone, host: spec.host, port: spec.port, device: spec.device, weight: spec.weight }
    this.state.dirty = true
    return id
  }

  /** Marks a device for removal; its replicas move at the next rebalance. */
  removeDevice (id: number): void {
    this.live(id)
    this.state.removing.push(id)
    this.state.dirty = true
  }

  setWeight (id: number, weight: number): void {
    checkWeight(weight)
    const device = this.live(id)
    if (device.weight === weight) return
    device.weight = weight
    this.state.dirty = true
  }

  /**
   * Moves partition-replicas toward the targets (see rebalance.ts), drops
   * removed devices, and bumps the version when anything changed. `now`
   * (ms since the epoch) drives min_part_hours.
   */
  rebalance (options: { now?: number } = {}): RebalanceReport {
    const s = this.state
    const removing = new Set(s.removing)
    const out = rebalance({
      partPower: s.partPower,
      replicas: s.replicas,
      minPartHours: s.minPartHours,
      seed: s.seed,
      version: s.version,
      devices: s.devices,
      removing,
      assignment: s.assignment,
      lastMove: s.lastMove,
      now: options.now ?? Date.now()
    })
    const changed = out.moved > 0 || s.dirty || s.version === 0
    s.assignment = out.assignment
    s.lastMove = out.lastMove
    for (const id of removing) s.devices[id] = undefined
    while (s.devices.length > 0 && s.devices[s.devices.length - 1] === undefined) s.devices.pop()
    s.removing = []
    s.dirty = false
    if (changed) s.version++
    return {
      version: s.version,
      changed,
      moved: out.moved,
      minimumMoves: out.minimumMoves,
      balance: out.balance,
      dispersion: out.dispersion,
      devices: out.devices,
      warnings: out.warnings
    }
  }

  /** Parts held against targets as things stand (what `show` prints). */
  assess (): Assessment {
    const s = this.state
    const removing = new Set(s.removing)
    const count = new Int32Array(s.devices.length)
    for (const row of s.assignment) for (const d of row) if (d < count.length) count[d]!++
    let target: Int32Array = new Int32Array(s.devices.length)
    let spread = 0
    if (s.devices.some((d) => d !== undefined && !removing.has(d.id) && d.weight > 0)) {
      const tiers = buildTiers(s.devices, removing, s.replicas)
      target = computeTargets(tiers, this.partitionCount)
      spread = dispersion(new Placement(tiers, target, s.assignment, 0))
    }
    return { ...shares(s.devices, removing, target, count), dispersion: spread }
  }

  /**
   * What is wrong with the ring as it stands, one line per kind of problem;
   * empty when every partition has its replicas on distinct live devices
   * with weight, spread as widely as the devices allow. Replicas that
   * min_part_hours still holds in place (at `now`) are not counted against
   * weight or dispersion.
   */
  validate (now = Date.now()): string[] {
    const s = this.state
    if (s.version === 0) return ['never rebalanced']
    const problems: string[] = []
    const parts = this.partitionCount
    const removing = new Set(s.removing)
    const tally = new Map<string, { count: number, example: number }>()
    const note = (kind: string, p: number): void => {
      const t = tally.get(kind)
      if (t === undefined) tally.set(kind, { count: 1, example: p })
      else t.count++
    }
    const weighted = s.devices.some((d) => d !== undefined && !removing.has(d.id) && d.weight > 0)
    if (!weighted) problems.push('no devices with weight > 0')
    const tiers = weighted ? buildTiers(s.devices, removing, s.replicas) : undefined
    const pl = tiers === undefined ? undefined : new Placement(tiers, computeTargets(tiers, parts), s.assignment, 0)
    const hold = s.minPartHours * 60
    const nowMinutes = Math.floor(now / 60_000)
    for (let p = 0; p < parts; p++) {
      const settled = s.lastMove[p] === 0 || nowMinutes - s.lastMove[p]! >= hold
      for (const row of s.assignment) {
        const d = row[p]!
        const device = s.devices[d]
        if (d === NONE) note('partition-replicas unassigned', p)
        else if (device === undefined) note('partition-replicas on unknown devices', p)
        else if (removing.has(d)) note('partition-replicas on devices being removed', p)
        else if (device.weight <= 0 && settled) note('partition-replicas on devices with weight 0', p)
      }
      if (pl !== undefined && settled && pl.violates(p)) note('partitions with replicas less spread than the devices allow', p)
    }
    for (const [kind, { count, example }] of tally) problems.push(`${count} ${kind} (e.g. partition ${example})`)
    return problems
  }

  /** The ring servers use; only after a rebalance. */
  toRingData (): RingData {
    const s = this.state
    if (s.version === 0) throw new RingError('NotRebalanced', 'the ring has never been rebalanced')
    return {
      version: s.version,
      partPower: s.partPower,
      replicas: s.replicas,
      seed: s.seed,
      devices: s.devices.map((d) => d === undefined ? undefined : { ...d }),
      assignment: s.assignment
    }
  }

  private live (id: number): Device {
    const device = Number.isInteger(id) ? this.state.devices[id] : undefined
    if (device === undefined) throw new RingError('UnknownDevice', `no device with id ${id}`)
    if (this.state.removing.includes(id)) throw new RingError('UnknownDevice', `device ${id} is already being removed`)
    return device
  }
}

function checkSpec (spec: DeviceSpec): void {
  const bad = (what: string): never => { throw new RingError('InvalidArgument', what) }
  if (!Number.isInteger(spec.region) || spec.region < 0) bad(`region must be a non-negative integer, got ${spec.region}`)
  if (!Number.isInteger(spec.zone) || spec.zone < 0) bad(`zone must be a non-negative integer, got ${spec.zone}`)
  if (typeof spec.host !== 'string' || spec.host === '' || /\s/.test(spec.host)) bad(`host must be a non-empty name or address, got "${spec.host}"`)
  if (!Number.isInteger(spec.port) || spec.port < 1 || spec.port > 65535) bad(`port must be from 1 to 65535, got ${spec.port}`)
  if (typeof spec.device !== 'string' || !/^[A-Za-z0-9._-]+$/.test(spec.device)) bad(`device must be a name of letters, digits, '.', '_' or '-', got "${spec.device}"`)
  checkWeight(spec.weight)
}

function checkWeight (weight: number): void {
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
    throw new RingError('InvalidArgument', `weight must be a finite number >= 0, got ${weight}`)
  }
}

function checkState (s: BuilderState): void {
  const bad = (what: string): never => { throw new RingError('InvalidRing', `invalid builder: ${what}`) }
  if (!Number.isInteger(s.partPower) || s.partPower < MIN_PART_POWER || s.partPower > MAX_PART_POWER) bad(`part power ${s.partPower}`)
  if (!Number.isInteger(s.replicas) || s.replicas < 1 || s.replicas > MAX_REPLICAS) bad(`replicas ${s.replicas}`)
  if (!Number.isInteger(s.minPartHours) || s.minPartHours < 0) bad(`min_part_hours ${s.minPartHours}`)
  if (!Number.isInteger(s.version) || s.version < 0) bad(`version ${s.version}`)
  const parts = 2 ** s.partPower
  if (s.assignment.length !== s.replicas || s.assignment.some((row) => row.length !== parts)) bad('assignment size does not match part power and replicas')
  if (s.lastMove.length !== parts) bad('last-move table size does not match part power')
  s.devices.forEach((d, i) => { if (d !== undefined && d.id !== i) bad(`device at index ${i} has id ${d.id}`) })
  for (const id of s.removing) if (s.devices[id] === undefined) bad(`removing unknown device ${id}`)
  for (const row of s.assignment) {
    for (const d of row) if (d !== NONE && s.devices[d] === undefined) bad(`assignment names unknown device ${d}`)
  }
}
