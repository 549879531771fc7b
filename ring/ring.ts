import { RingError } from './errors.ts'
import { createHasher, score, type Hasher } from './hash.ts'
import { readRingFile } from './ring-file.ts'
import { MAX_PART_POWER, MAX_REPLICAS, MIN_PART_POWER } from './limits.ts'
import type { Device, RingData } from './types.ts'

// Handoff classes, best first.
const OTHER_REGION = 0
const OTHER_ZONE = 1
const OTHER_HOST = 2
const SAME_HOST = 3
const NO_WEIGHT = 4

/**
 * One version of the ring, read-only: which partition a name hashes to,
 * which devices hold it, and where to go when those fail.
 */
export class Ring {
  readonly version: number
  readonly partPower: number
  readonly replicas: number
  readonly partitionCount: number
  /** Indexed by device id; removed ids are holes. */
  readonly devices: ReadonlyArray<Device | undefined>
  private readonly seed: bigint
  private readonly assignment: readonly Uint16Array[]
  private readonly hasher: Hasher
  private readonly shift: bigint
  private readonly encoder = new TextEncoder()
  private readonly region: Int32Array
  private readonly zone: Int32Array
  private readonly host: Int32Array

  constructor (data: RingData, hasher: Hasher) {
    checkRingData(data)
    this.version = data.version
    this.partPower = data.partPower
    this.replicas = data.replicas
    this.partitionCount = 2 ** data.partPower
    this.devices = data.devices
    this.seed = data.seed
    this.assignment = data.assignment
    this.hasher = hasher
    this.shift = BigInt(64 - data.partPower)
    const n = data.devices.length
    this.region = new Int32Array(n).fill(-1)
    this.zone = new Int32Array(n).fill(-1)
    this.host = new Int32Array(n).fill(-1)
    const keys = new Map<string, number>()
    const index = (key: string): number => {
      let i = keys.get(key)
      if (i === undefined) keys.set(key, i = keys.size)
      return i
    }
    for (const d of data.devices) {
      if (d === undefined) continue
      this.region[d.id] = index(`${d.region}`)
      this.zone[d.id] = index(`${d.region}/${d.zone}`)
      this.host[d.id] = index(`${d.region}/${d.zone}/${d.host}`)
    }
  }

  /** Reads a ring file; pass a hasher to share one xxhash instance between rings. */
  static async load (path: string, options: { hasher?: Hasher } = {}): Promise<Ring> {
    const data = await readRingFile(path)
    return new Ring(data, options.hasher ?? await createHasher())
  }

  /**
   * The partition of `/account[/container[/object]]`: the top partPower bits
   * of its xxh64, seeded with the cluster's secret seed.
   */
  partition (account: string, container?: string, object?: string): number {
    if (account === '') throw new RingError('InvalidArgument', 'account name is empty')
    if (object !== undefined && container === undefined) throw new RingError('InvalidArgument', 'an object needs a container')
    let path = `/${account}`
    if (container !== undefined) path += `/${container}`
    if (object !== undefined) path += `/${object}`
    return Number(this.hasher.h64Raw(this.encoder.encode(path), this.seed) >> this.shift)
  }

  /** The devices holding `partition`, in replica order (a device appears once). */
  primaries (partition: number): Device[] {
    this.checkPartition(partition)
    const out: Device[] = []
    for (const row of this.assignment) {
      const device = this.devices[row[partition]!]
      if (device !== undefined && !out.includes(device)) out.push(device)
    }
    return out
  }

  /**
   * Every other device, best stand-in first: devices in regions the
   * primaries do not use, then in unused zones, then on unused hosts, then
   * the rest, devices with weight 0 last. Within a class the order is a
   * per-(partition, device) hash, so a device joining or leaving shifts the
   * others by at most one place.
   */
  * handoffs (partition: number): Generator<Device> {
    const primaries = this.primaries(partition)
    const regions = new Set(primaries.map((d) => this.region[d.id]))
    const zones = new Set(primaries.map((d) => this.zone[d.id]))
    const hosts = new Set(primaries.map((d) => this.host[d.id]))
    const candidates: Array<{ device: Device, rank: number }> = []
    for (const device of this.devices) {
      if (device === undefined || primaries.includes(device)) continue
      const id = device.id
      const cls = device.weight <= 0
        ? NO_WEIGHT
        : !regions.has(this.region[id]) ? OTHER_REGION : !zones.has(this.zone[id]) ? OTHER_ZONE : !hosts.has(this.host[id]) ? OTHER_HOST : SAME_HOST
      candidates.push({ device, rank: cls * 2 ** 32 + score(0, partition, id) })
    }
    candidates.sort((a, b) => a.rank - b.rank || a.device.id - b.device.id)
    for (const c of candidates) yield c.device
  }

  private checkPartition (partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount) {
      throw new RingError('InvalidArgument', `partition ${partition} is out of range 0..${this.partitionCount - 1}`)
    }
  }
}

function checkRingData (data: RingData): void {
  const bad = (what: string): never => { throw new RingError('InvalidRing', `invalid ring: ${what}`) }
  if (!Number.isInteger(data.version) || data.version < 1) bad(`version ${data.version}`)
  if (!Number.isInteger(data.partPower) || data.partPower < MIN_PART_POWER || data.partPower > MAX_PART_POWER) bad(`part power ${data.partPower}`)
  if (!Number.isInteger(data.replicas) || data.replicas < 1 || data.replicas > MAX_REPLICAS) bad(`replicas ${data.replicas}`)
  const parts = 2 ** data.partPower
  if (data.assignment.length !== data.replicas || data.assignment.some((row) => row.length !== parts)) {
    bad('assignment size does not match part power and replicas')
  }
  data.devices.forEach((d, i) => { if (d !== undefined && d.id !== i) bad(`device at index ${i} has id ${d.id}`) })
  for (const row of data.assignment) {
    for (const d of row) if (data.devices[d] === undefined) bad(`assignment names unknown device ${d}`)
  }
}
