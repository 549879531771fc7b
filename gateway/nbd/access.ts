import { BlockList, isIP, isIPv4 } from 'node:net'

/** Loopback only, both families, unless configured otherwise. */
export const DEFAULT_ALLOW = ['127.0.0.0/8', '::1']

/** Client addresses allowed to use exports: single addresses and CIDR subnets, IPv4 and IPv6. */
export class AccessList {
  private readonly list = new BlockList()

  constructor (entries: readonly string[]) {
    for (const entry of entries) {
      const slash = entry.indexOf('/')
      const address = slash === -1 ? entry : entry.slice(0, slash)
      const family = isIP(address)
      if (family === 0) throw new Error(`nbd allow: ${entry} is not an IPv4 or IPv6 address or subnet`)
      const type = family === 4 ? 'ipv4' : 'ipv6'
      if (slash === -1) {
        this.list.addAddress(address, type)
        continue
      }
      const prefix = Number(entry.slice(slash + 1))
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) throw new Error(`nbd allow: bad prefix length in ${entry}`)
      this.list.addSubnet(address, prefix, type)
    }
  }

  allows (remoteAddress: string | undefined): boolean {
    if (remoteAddress === undefined) return false
    // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; match them against the IPv4 entries.
    const mapped = remoteAddress.toLowerCase().startsWith('::ffff:') ? remoteAddress.slice(7) : undefined
    if (mapped !== undefined && isIPv4(mapped)) return this.list.check(mapped, 'ipv4')
    const family = isIP(remoteAddress)
    return family !== 0 && this.list.check(remoteAddress, family === 4 ? 'ipv4' : 'ipv6')
  }
}
