/** `host:port` as clients dial it: IPv6 literals in brackets. */
export function hostPort (host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
