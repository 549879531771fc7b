/** `host:port` as clients dial it: IPv6 literals in brackets. */
export function hostPort (host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/** The host part of a `host:port` address, without an IPv6 literal's brackets. */
export function hostOf (address: string): string {
  const host = address.slice(0, address.lastIndexOf(':'))
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
}
