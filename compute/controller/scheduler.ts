import { ServerError } from './errors.ts'
import type { HypervisorView } from './hypervisors.ts'
import type { FlavorRecord } from './records.ts'

interface Need { vcpus: number, ramMiB: number }

/**
 * Places servers: among the hosts that answered, those with the flavor's
 * vCPUs and RAM free, most free RAM first (then most free vCPUs). Creates
 * still on their way to an agent hold a claim on their host, so two
 * creates at once do not both count the same free space.
 */
export class Scheduler {
  private readonly claims = new Map<string, Need[]>()

  /** Picks a host and claims the flavor's share of it until `release` is called. */
  place (hosts: HypervisorView[], flavor: FlavorRecord): { host: string, release: () => void } {
    const candidates = hosts.flatMap((h) => {
      if (h.capacity === undefined) return []
      const claimed = this.claims.get(h.record.name) ?? []
      const vcpus = h.capacity.vcpusFree - claimed.reduce((n, c) => n + c.vcpus, 0)
      const ramMiB = h.capacity.ramMiBFree - claimed.reduce((n, c) => n + c.ramMiB, 0)
      return vcpus >= flavor.vcpus && ramMiB >= flavor.ramMiB ? [{ name: h.record.name, vcpus, ramMiB }] : []
    })
    candidates.sort((a, b) => b.ramMiB - a.ramMiB || b.vcpus - a.vcpus)
    const chosen = candidates[0]
    if (chosen === undefined) {
      const seen = hosts.map((h) => h.capacity === undefined
        ? `${h.record.name}: unreachable`
        : `${h.record.name}: ${h.capacity.vcpusFree} vCPUs, ${h.capacity.ramMiBFree} MiB free`)
      throw new ServerError('NoValidHost', `No valid host was found: flavor ${flavor.name} needs ${flavor.vcpus} vCPUs and ${flavor.ramMiB} MiB RAM` +
        ` (${seen.length === 0 ? 'no compute host is registered' : seen.join('; ')})`)
    }
    const claim: Need = { vcpus: flavor.vcpus, ramMiB: flavor.ramMiB }
    this.claims.set(chosen.name, [...this.claims.get(chosen.name) ?? [], claim])
    return {
      host: chosen.name,
      release: () => {
        const left = (this.claims.get(chosen.name) ?? []).filter((c) => c !== claim)
        if (left.length === 0) this.claims.delete(chosen.name)
        else this.claims.set(chosen.name, left)
      }
    }
  }
}
