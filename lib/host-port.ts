/** `host:port` as clients dial it: IPv6 literals in brackets. */
export function hostPort (host: string, port: number): string {
  return `${bracketed(host)}:${port}`
}

/** An IPv6 literal in brackets (URLs and `host:port` need them), anything else as is. */
export function bracketed (host: string): string {
  return host.includes(':') ? `[${host}]` : host
}
