/** One storage device (a data dir on a storage node) as the ring knows it. */
export interface Device {
  /** Small integer, unique in the ring; ids of removed devices are reused. */
  id: number
  region: number
  zone: number
  /** Address of the storage node; devices sharing it share a failure domain. */
  host: string
  port: number
  /** Device name on that node. */
  device: string
  /** Relative capacity; 0 drains the device without removing it. */
  weight: number
}

export type DeviceSpec = Omit<Device, 'id'>

/** What a ring file carries: everything a lookup needs, nothing of the builder. */
export interface RingData {
  version: number
  partPower: number
  replicas: number
  /** Secret hash seed; clients that do not know it cannot aim names at a partition. */
  seed: bigint
  /** Indexed by device id; removed ids are holes. */
  devices: ReadonlyArray<Device | undefined>
  /** One array per replica, indexed by partition, holding device ids. */
  assignment: readonly Uint16Array[]
}

/** How one device fares against the plan. */
export interface DeviceShare {
  id: number
  weight: number
  /** Partition-replicas it holds. */
  parts: number
  /** Partition-replicas the plan gives it (by weight, capped for dispersion). */
  target: number
  /** (parts - target) / target in percent (target 0 counts as 1). */
  balance: number
}

export interface RebalanceReport {
  /** Ring version after the rebalance (unchanged when nothing changed). */
  version: number
  changed: boolean
  /** Partition-replicas whose device changed. */
  moved: number
  /** The fewest moves any rebalance could make toward the targets. */
  minimumMoves: number
  /** Largest |balance| over devices, percent. */
  balance: number
  /** Percent of partitions whose replicas are less spread than the devices allow. */
  dispersion: number
  devices: DeviceShare[]
  warnings: string[]
}
