import type { StorageNodeClient } from '../types.ts'
import { addressOf, type PlacementDevice } from './placement.ts'

export type NodeClientFactory<C = StorageNodeClient> = (address: string) => C

/** What ordering candidates needs of a pool. */
export interface ErrorLimiter {
  isSuppressed (device: PlacementDevice): boolean
}

/**
 * One client per storage node address, plus error limiting: a node that just
 * failed as unreachable is skipped for a while, so requests go straight to a
 * handoff instead of each paying for the failure again (Swift does the same).
 */
export class NodePool<C extends { close (): void } = StorageNodeClient> implements ErrorLimiter {
  private readonly clients = new Map<string, C>()
  private readonly downUntil = new Map<string, number>()
  private readonly factory: NodeClientFactory<C>
  private readonly suppressMs: number
  private readonly now: () => number

  constructor (factory: NodeClientFactory<C>, options: { suppressMs?: number, now?: () => number } = {}) {
    this.factory = factory
    this.suppressMs = options.suppressMs ?? 5_000
    this.now = options.now ?? Date.now
  }

  client (device: PlacementDevice): C {
    const address = addressOf(device)
    let client = this.clients.get(address)
    if (client === undefined) {
      client = this.factory(address)
      this.clients.set(address, client)
    }
    return client
  }

  isSuppressed (device: PlacementDevice): boolean {
    const until = this.downUntil.get(addressOf(device))
    return until !== undefined && until > this.now()
  }

  markDown (device: PlacementDevice): void {
    this.downUntil.set(addressOf(device), this.now() + this.suppressMs)
  }

  markUp (device: PlacementDevice): void {
    this.downUntil.delete(addressOf(device))
  }

  close (): void {
    for (const client of this.clients.values()) client.close()
    this.clients.clear()
  }
}
