import { RingError } from './errors.ts'
import type { Device } from './types.ts'

/** A failure domain (region, zone, host) or, at the leaves, a device. */
export interface TierNode {
  /** Index within its level: region, zone or host index; the device id for leaves. */
  index: number
  weight: number
  /** Most replicas of one partition this subtree may hold. */
  cap: number
  children: TierNode[]
}

export interface TierCaps {
  region: number
  zone: number
  host: number
  device: number
}

/**
 * The failure-domain tree of the devices that take part in placement, with
 * per-device lookups into it and the dispersion caps. Devices with weight 0
 * get tier indices (their replicas still count against a domain's cap until
 * they move) but are not in the tree, so nothing new lands on them.
 */
export interface Tiers {
  /** Length of the per-device arrays: largest id + 1. */
  size: number
  replicas: number
  region: Int32Array
  zone: Int32Array
  host: Int32Array
  /** 1 for devices present and not being removed. */
  live: Uint8Array
  /** 1 for live devices with weight > 0. */
  weighted: Uint8Array
  weightedIds: Int32Array
  caps: TierCaps
  regionCount: number
  zoneCount: number
  hostCount: number
  root: TierNode
}

export function buildTiers (devices: ReadonlyArray<Device | undefined>, removing: ReadonlySet<number>, replicas: number): Tiers {
  const size = devices.length
  const region = new Int32Array(size).fill(-1)
  const zone = new Int32Array(size).fill(-1)
  const host = new Int32Array(size).fill(-1)
  const live = new Uint8Array(size)
  const weighted = new Uint8Array(size)
  const regions = new Map<string, number>()
  const zones = new Map<string, number>()
  const hosts = new Map<string, number>()
  const indexOf = (map: Map<string, number>, key: string): number => {
    let i = map.get(key)
    if (i === undefined) map.set(key, i = map.size)
    return i
  }
  const root: TierNode = { index: 0, weight: 0, cap: 0, children: [] }
  const regionNodes = new Map<number, TierNode>()
  const zoneNodes = new Map<number, TierNode>()
  const hostNodes = new Map<number, TierNode>()
  const child = (parent: TierNode, nodes: Map<number, TierNode>, index: number): TierNode => {
    let node = nodes.get(index)
    if (node === undefined) {
      node = { index, weight: 0, cap: 0, children: [] }
      nodes.set(index, node)
      parent.children.push(node)
    }
    return node
  }
  const weightedIds: number[] = []
  for (const dev of devices) {
    if (dev === undefined || removing.has(dev.id)) continue
    const regionKey = String(dev.region)
    const zoneKey = `${regionKey}/${dev.zone}`
    const hostKey = `${zoneKey}/${dev.host}`
    region[dev.id] = indexOf(regions, regionKey)
    zone[dev.id] = indexOf(zones, zoneKey)
    host[dev.id] = indexOf(hosts, hostKey)
    live[dev.id] = 1
    if (dev.weight <= 0) continue
    weighted[dev.id] = 1
    weightedIds.push(dev.id)
    const r = child(root, regionNodes, region[dev.id]!)
    const z = child(r, zoneNodes, zone[dev.id]!)
    const h = child(z, hostNodes, host[dev.id]!)
    h.children.push({ index: dev.id, weight: dev.weight, cap: 0, children: [] })
    for (const node of [root, r, z, h]) node.weight += dev.weight
  }
  if (weightedIds.length === 0) throw new RingError('NotRebalanced', 'no devices with weight > 0')
  const caps = dispersionCaps(root, replicas, regionNodes.size, zoneNodes.size, hostNodes.size, weightedIds.length)
  return {
    size, replicas, region, zone, host, live, weighted, weightedIds: Int32Array.from(weightedIds), caps,
    regionCount: regions.size, zoneCount: zones.size, hostCount: hosts.size, root
  }
}

/**
 * A domain level with at least `replicas` weighted members may hold one
 * replica of a partition per member; a smaller one ceil(replicas / members).
 * Where nesting makes that impossible (a region with one zone, a zone with
 * few hosts), caps give way one replica at a time, the fewest and lowest
 * levels first, so the big domains stay as spread as the devices allow.
 */
function dispersionCaps (root: TierNode, replicas: number, regions: number, zones: number, hosts: number, devices: number): TierCaps {
  const levelCap = (n: number): number => n >= replicas ? 1 : Math.ceil(replicas / n)
  const caps: TierCaps = { region: levelCap(regions), zone: levelCap(zones), host: levelCap(hosts), device: levelCap(devices) }
  // [host, zone, region] increments, cheapest first.
  const steps = [[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1], [0, 1, 1], [1, 1, 1]]
  const bump = ([h, z, r]: number[], sign: number): void => {
    caps.host += sign * h!
    caps.zone += sign * z!
    caps.region += sign * r!
  }
  let held = effectiveCaps(root, caps, replicas)
  while (held < replicas) {
    const before = held
    for (const step of steps) {
      bump(step, 1)
      held = effectiveCaps(root, caps, replicas)
      if (held > before) break
      bump(step, -1)
    }
    if (held === before) break
  }
  effectiveCaps(root, caps, replicas)
  return caps
}

/** Sets every node's cap to min(level cap, what its children can hold); returns the root's. */
function effectiveCaps (root: TierNode, caps: TierCaps, replicas: number): number {
  const levels = [caps.region, caps.zone, caps.host, caps.device]
  const visit = (node: TierNode, depth: number, cap: number): number => {
    if (node.children.length === 0) return (node.cap = cap)
    let sum = 0
    for (const c of node.children) sum += visit(c, depth + 1, levels[depth]!)
    return (node.cap = Math.min(cap, sum))
  }
  return visit(root, 0, replicas)
}
