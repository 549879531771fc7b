import { hostPort } from '../../lib/host-port.ts'

/**
 * What the object client needs from the ring. The ring's Ring class satisfies
 * it structurally; keeping the contract this small lets the client follow a
 * RingWatcher that swaps ring versions underneath it.
 */
export interface PlacementDevice {
  id: number
  host: string
  port: number
  device: string
}

export interface Placement {
  partition (account: string, container?: string, object?: string): number
  primaries (partition: number): PlacementDevice[]
  handoffs (partition: number): Iterable<PlacementDevice>
}

export interface PlacementSource {
  current (): Placement
}

export function addressOf (device: PlacementDevice): string {
  return hostPort(device.host, device.port)
}
