import { BackgroundLoop } from '../../lib/background-loop.ts'
import type { Startable } from '../../lib/lifecycle.ts'
import type { Logger } from '../../lib/logger.ts'
import type { Device } from '../device.ts'
import { StorageError } from '../errors.ts'
import { objectKey } from '../object-name.ts'
import { MAX_CHUNK_BYTES } from '../proto.ts'
import { refOf } from './object-ref.ts'
import type { ReplicationMetrics } from './replication-metrics.ts'

export interface AuditorComponents {
  devices: ReadonlyMap<string, Device>
  metrics: ReplicationMetrics
  logger: Logger
}

export interface AuditorOptions {
  /** Bytes read per second at most; the audit's whole cost. */
  bytesPerSecond: number
  /** Pause between the end of one sweep over every replica and the next. */
  intervalMs: number
}

/**
 * Swift's object auditor: sweeps every live replica of every device,
 * reading it through the same verified path a GET takes, at a throttled
 * rate. A replica whose blocks fail their checksums is quarantined by that
 * read (its index entry goes), which is all the repair needs: the other
 * replicas' replicators see it missing and push a good copy.
 */
export class Auditor implements Startable {
  private readonly components: AuditorComponents
  private readonly options: AuditorOptions
  private readonly loop: BackgroundLoop

  constructor (components: AuditorComponents, options: AuditorOptions) {
    this.components = components
    this.options = options
    this.loop = new BackgroundLoop('audit sweep', options.intervalMs, async () => {
      for (const device of components.devices.values()) await this.sweep(device)
    }, components.logger)
  }

  async start (): Promise<void> {
    await this.loop.start()
  }

  async stop (): Promise<void> {
    await this.loop.stop()
  }

  private async sweep (device: Device): Promise<void> {
    for (const partition of await device.partitions()) {
      for (const { entry } of await device.entries(partition)) {
        if (this.loop.stopping) return
        if (entry.deleted) continue
        await this.audit(device, objectKey(refOf(entry.name, device.name, partition)), entry.size)
      }
    }
  }

  private async audit (device: Device, key: ReturnType<typeof objectKey>, size: number): Promise<void> {
    const started = performance.now()
    try {
      const replica = await device.read(key)
      try {
        for await (const piece of replica.body(0, replica.info.deleted ? 0 : replica.info.size, MAX_CHUNK_BYTES)) {
          this.components.metrics.audited(piece.length)
        }
      } finally {
        await replica.close()
      }
    } catch (err) {
      if (!(err instanceof StorageError && err.code === 'Corrupt')) throw err
      // The read quarantined it already; the replicators of the other replicas restore it.
      this.components.metrics.corruptFound()
      this.components.logger.error({ name: key.name, partition: key.ref.partition, err: err.message }, 'audit found a corrupt replica')
    }
    const owed = (size / this.options.bytesPerSecond) * 1000 - (performance.now() - started)
    if (owed > 0) await this.loop.pause(owed)
  }
}
