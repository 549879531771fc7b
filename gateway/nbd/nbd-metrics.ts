import { Counter, Gauge } from 'prom-client'
import type { Registry } from '../../lib/metrics.ts'
import { CMD_NAMES, ERRNO_NAMES, type Command } from './protocol.ts'

/** The NBD server's Prometheus metrics, registered in the registry it is given. */
export class NbdMetrics {
  readonly connections: Gauge
  private readonly requests: Counter<'command'>
  private readonly errors: Counter<'errno'>
  private readonly readBytes: Counter
  private readonly writtenBytes: Counter

  constructor (registry: Registry) {
    const registers = [registry]
    this.connections = new Gauge({ name: 'nbd_connections', help: 'Open NBD client connections', registers })
    this.requests = new Counter({ name: 'nbd_requests_total', help: 'NBD transmission requests by command', labelNames: ['command'], registers })
    this.errors = new Counter({ name: 'nbd_errors_total', help: 'NBD error replies by errno', labelNames: ['errno'], registers })
    this.readBytes = new Counter({ name: 'nbd_read_bytes_total', help: 'Bytes returned by NBD reads', registers })
    this.writtenBytes = new Counter({ name: 'nbd_written_bytes_total', help: 'Bytes written by NBD writes', registers })
  }

  request (command: Command): void {
    this.requests.inc({ command: CMD_NAMES[command] })
  }

  error (errno: number): void {
    this.errors.inc({ errno: ERRNO_NAMES[errno] ?? String(errno) })
  }

  read (bytes: number): void {
    this.readBytes.inc(bytes)
  }

  written (bytes: number): void {
    this.writtenBytes.inc(bytes)
  }
}
