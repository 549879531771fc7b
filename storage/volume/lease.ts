import { ControlError, type ControlStore } from '../../lib/control-store/index.ts'
import type { Logger } from '../../lib/logger.ts'
import { VolumeError } from './errors.ts'
import { keys, type LeaseRecord } from './records.ts'

export interface LeaseOptions {
  ttlMs: number
  now?: () => number
}

/**
 * A volume's write lease, held and renewed until released. Taking it raises
 * the volume's epoch; the holder stamps every write with that epoch, and the
 * storage nodes, told the new epoch, refuse the writes of anyone older. A
 * holder that cannot renew (its lease expired and someone else took it)
 * learns so through onLost and must stop writing: the nodes would refuse it
 * anyway.
 */
export class Lease {
  readonly volumeId: string
  readonly holder: string
  readonly epoch: number
  private modRevision: number
  private readonly control: ControlStore
  private readonly options: Required<LeaseOptions>
  private readonly logger: Logger
  private timer: NodeJS.Timeout | undefined
  private lost = false
  private readonly lostListeners: Array<() => void> = []

  private constructor (control: ControlStore, volumeId: string, holder: string, epoch: number, modRevision: number,
    options: Required<LeaseOptions>, logger: Logger) {
    this.control = control
    this.volumeId = volumeId
    this.holder = holder
    this.epoch = epoch
    this.modRevision = modRevision
    this.options = options
    this.logger = logger
  }

  /** Takes the lease, or throws InUse naming the live holder. */
  static async acquire (control: ControlStore, volumeId: string, holder: string, options: LeaseOptions,
    logger: Logger): Promise<Lease> {
    const opts = { now: Date.now, ...options }
    for (let attempt = 0; attempt < 10; attempt++) {
      const key = keys.lease(volumeId)
      const current = await control.get<LeaseRecord>(key)
      const now = opts.now()
      if (current !== undefined && current.value.holder !== '' && current.value.expiresAt > now) {
        throw new VolumeError('InUse', `volume ${volumeId} is in use by ${current.value.holder} (lease expires in ${Math.ceil((current.value.expiresAt - now) / 1000)} s)`)
      }
      const record: LeaseRecord = { holder, epoch: (current?.value.epoch ?? 0) + 1, expiresAt: now + opts.ttlMs }
      try {
        const revision = await control.commit([{ key, modRevision: current?.modRevision ?? 0 }], [{ type: 'put', key, value: record }])
        const lease = new Lease(control, volumeId, holder, record.epoch, revision, opts, logger)
        lease.scheduleRenewal()
        return lease
      } catch (err) {
        if (!(err instanceof ControlError && err.code === 'Conflict')) throw err
      }
    }
    throw new VolumeError('InUse', `volume ${volumeId}: lease contended`)
  }

  get isLost (): boolean {
    return this.lost
  }

  onLost (listener: () => void): void {
    this.lostListeners.push(listener)
  }

  /** Gives the lease up (keeping the epoch, which must never go back). */
  async release (): Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.lost) return
    this.lost = true
    const key = keys.lease(this.volumeId)
    const record: LeaseRecord = { holder: '', epoch: this.epoch, expiresAt: 0 }
    try {
      await this.control.commit([{ key, modRevision: this.modRevision }], [{ type: 'put', key, value: record }])
    } catch (err) {
      // Someone took over after our lease ran out: theirs now, nothing to release.
      if (!(err instanceof ControlError && err.code === 'Conflict')) throw err
    }
  }

  private scheduleRenewal (): void {
    this.timer = setTimeout(() => { void this.renew() }, this.options.ttlMs / 3)
  }

  private async renew (): Promise<void> {
    if (this.lost) return
    const key = keys.lease(this.volumeId)
    const record: LeaseRecord = { holder: this.holder, epoch: this.epoch, expiresAt: this.options.now() + this.options.ttlMs }
    try {
      this.modRevision = await this.control.commit([{ key, modRevision: this.modRevision }], [{ type: 'put', key, value: record }])
      if (!this.lost) this.scheduleRenewal()
    } catch (err) {
      if (err instanceof ControlError && err.code === 'Conflict') {
        this.lost = true
        this.logger.warn({ volume: this.volumeId, epoch: this.epoch }, 'volume lease lost to another writer')
        for (const listener of this.lostListeners) listener()
      } else {
        // The store hiccuped; try again soon, the lease has ttl/3 * 2 left.
        this.logger.warn({ err, volume: this.volumeId }, 'volume lease renewal failed, retrying')
        if (!this.lost) this.scheduleRenewal()
      }
    }
  }
}
