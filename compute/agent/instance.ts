import { mkdir, rm } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '../../lib/logger.ts'
import type { AgentMetrics } from './agent-metrics.ts'
import { ConsoleLog } from './console-log.ts'
import { ComputeError } from './errors.ts'
import { freePort } from '../../lib/free-port.ts'
import type { InstanceRecord, InstanceStore } from './instance-store.ts'
import { deviceId, nbdBlockdev, qemuArgs, virtioBlkDevice, type InstancePaths, type PlacedDisk } from './qemu-command.ts'
import { QmpClient, QmpCommandError, type QmpEvent } from './qmp-client.ts'
import { deniedByServer, startFailure } from './qemu-failures.ts'
import { isOurQemu, killQemu, spawnQemu } from './qemu-process.ts'
import type { Accelerator, DiskSpec, InstanceInfo, InstanceSpec } from './types.ts'

export interface InstanceComponents {
  logger: Logger
  metrics: AgentMetrics
  store: InstanceStore
  qemuBinary: string
  accelerator: Accelerator
  /** Host address the guest's port 22 is forwarded from. */
  forwardHost: string
  consoleLogBytes: number
  /** How long QEMU may take to open its QMP socket (and its disks) after spawn. */
  startTimeoutMs: number
  /** How long a guest gets to acknowledge an unplug. */
  detachTimeoutMs: number
  /** How long a disk the NBD server refuses is retried before the start or attach fails. */
  diskRetryMs: number
}

/** How often a QEMU that is not our child (adopted) is checked for life. */
const WATCH_INTERVAL_MS = 1_000
/** After `quit` (or SIGKILL) QEMU is gone within milliseconds; this only bounds a wedged one. */
const EXIT_WAIT_MS = 10_000
/** Host port collisions (another process took the port we picked) are retried with a fresh one. */
const PORT_ATTEMPTS = 3
const DENIED_RETRY_MS = 250

/**
 * One instance and its QEMU process. Operations on one instance run one at
 * a time. The record on disk always says what the instance should be, so a
 * restarted agent takes over (adopt) from it; a QEMU that disappears while
 * it should run is a crash.
 */
export class Instance {
  private record: InstanceRecord
  private readonly paths: InstancePaths
  private readonly components: InstanceComponents
  private readonly logger: Logger
  private readonly console: ConsoleLog
  private qmp: QmpClient | undefined
  private watchTimer: NodeJS.Timeout | undefined
  /** Resolves when the running QEMU has been seen gone. */
  private gone: Promise<void> = Promise.resolve()
  private markGone: (() => void) | undefined
  private queue: Promise<unknown> = Promise.resolve()
  /** While QEMU is coming up, its exit is a failed start, not a crash. */
  private launching = false

  constructor (record: InstanceRecord, components: InstanceComponents) {
    this.record = record
    this.components = components
    this.paths = components.store.paths(record.spec.id)
    this.logger = components.logger.child({ instance: record.spec.id })
    this.console = new ConsoleLog(this.paths.consoleLog, components.consoleLogBytes)
  }

  get id (): string {
    return this.record.spec.id
  }

  get spec (): InstanceSpec {
    return this.record.spec
  }

  get state (): InstanceRecord['state'] {
    return this.record.state
  }

  info (): InstanceInfo {
    const { spec, state, pid, sshPort, attachments, fault } = this.record
    const running = state === 'running'
    return {
      id: spec.id,
      state,
      spec,
      attachments: attachments.map((a) => a.disk),
      ...(running && sshPort !== undefined ? { ssh: { host: this.components.forwardHost, port: sshPort } } : {}),
      ...(running && pid !== undefined ? { pid } : {}),
      ...(fault !== undefined ? { fault } : {})
    }
  }

  /** Boots with `spec` (a new instance, or a stopped one again); live attachments are cold-plugged after its disks. */
  async start (spec: InstanceSpec): Promise<InstanceInfo> {
    return await this.exclusive(async () => {
      if (this.record.state === 'running') throw new ComputeError('Conflict', `instance ${this.id} is already running`)
      this.record = { ...this.record, spec, fault: undefined }
      const refusedUntil = Date.now() + this.components.diskRetryMs
      for (let attempt = 1; ; attempt++) {
        try {
          await this.launch()
          break
        } catch (err) {
          const collided = err instanceof ComputeError && /host forwarding/i.test(err.message)
          if (collided && attempt < PORT_ATTEMPTS) continue
          if (deniedByServer(err) && Date.now() < refusedUntil) {
            await sleep(DENIED_RETRY_MS)
            continue
          }
          await this.settle({ state: 'stopped', pid: undefined, fault: (err as Error).message })
          throw err
        }
      }
      return this.info()
    })
  }

  /**
   * Takes over a QEMU a previous agent started: it runs on if it still
   * should, finishes a stop or a guest poweroff that happened meanwhile, and
   * one that died while nobody watched is a crash.
   */
  async adopt (): Promise<void> {
    await this.exclusive(async () => {
      const { pid } = this.record
      if (pid === undefined) return
      if (!await isOurQemu(pid, this.paths.qmpSocket)) {
        if (this.record.state === 'running') await this.crashed(`QEMU (pid ${pid}) exited while the agent was down`)
        else await this.settle({ pid: undefined })
        return
      }
      this.watch(pid)
      try {
        await this.connect()
      } catch (err) {
        this.logger.warn({ err, pid }, 'cannot reach the QMP of a running QEMU; watching its pid only')
        return
      }
      const { status } = await this.qmp!.execute<{ status: string }>('query-status')
      if (this.record.state !== 'running' || status === 'shutdown') {
        await this.quit()
      } else if (status === 'prelaunch') {
        // The previous agent died between spawn and `cont`.
        await this.qmp!.execute('cont')
      }
      this.logger.info({ pid, status }, 'adopted a running QEMU')
    })
  }

  /** ACPI power button, then `quit` once `timeoutMs` passes without the guest powering off. */
  async stop (timeoutMs: number): Promise<InstanceInfo> {
    return await this.exclusive(async () => {
      if (this.record.state !== 'running') return this.info()
      await this.settle({ state: 'stopped' })
      const gone = this.gone
      await this.qmp?.execute('system_powerdown').catch((err: unknown) => this.logger.warn({ err }, 'system_powerdown failed'))
      const poweredOff = await Promise.race([gone.then(() => true), sleep(timeoutMs, false)])
      if (!poweredOff) {
        this.logger.info({ timeoutMs }, 'guest did not power off in time; quitting QEMU')
        await this.quit()
      }
      return this.info()
    })
  }

  async reboot (): Promise<InstanceInfo> {
    return await this.exclusive(async () => {
      await this.command('system_reset')
      return this.info()
    })
  }

  /** Kills QEMU and removes every file of the instance. */
  async destroy (): Promise<void> {
    await this.exclusive(async () => {
      if (this.record.state === 'running') this.record.state = 'stopped'
      const { pid } = this.record
      if (pid !== undefined) {
        const gone = this.gone
        await killQemu(pid, this.paths.qmpSocket)
        await this.untilGone(gone, pid)
      }
      this.release()
      await this.components.store.remove(this.id)
    })
  }

  /** Hot-plugs a volume: blockdev-add over NBD, then a virtio-blk device with the volume's serial. */
  async attach (disk: DiskSpec): Promise<InstanceInfo> {
    return await this.exclusive(async () => {
      if (this.record.state !== 'running') throw new ComputeError('Conflict', `instance ${this.id} is not running`)
      if (this.hasSerial(disk.serial)) {
        throw new ComputeError('Conflict', `a disk with serial ${disk.serial} is already attached to ${this.id}`)
      }
      const placed: PlacedDisk = { disk: { ...disk, boot: false }, node: `att${this.record.nextNode}` }
      await this.settle({ nextNode: this.record.nextNode + 1 })
      for (const refusedUntil = Date.now() + this.components.diskRetryMs; ;) {
        try {
          await this.command('blockdev-add', nbdBlockdev(placed))
          break
        } catch (err) {
          const error = err instanceof ComputeError && err.code === 'HypervisorFailed'
            ? new ComputeError('DiskUnavailable', `cannot open ${disk.export} on ${disk.host}:${disk.port}: ${err.message}`, { cause: err })
            : err
          if (!deniedByServer(error) || Date.now() >= refusedUntil) throw error
          await sleep(DENIED_RETRY_MS)
        }
      }
      try {
        await this.command('device_add', virtioBlkDevice(placed))
      } catch (err) {
        await this.qmp?.execute('blockdev-del', { 'node-name': placed.node }).catch(() => {})
        throw err
      }
      await this.settle({ attachments: [...this.record.attachments, placed] })
      return this.info()
    })
  }

  /** Hot-unplugs: device_del, wait until the guest let go (DEVICE_DELETED), then blockdev-del closes the NBD connection. */
  async detach (serial: string): Promise<InstanceInfo> {
    return await this.exclusive(async () => {
      const placed = this.record.attachments.find((a) => a.disk.serial === serial)
      if (placed === undefined) throw new ComputeError('NotFound', `no volume with serial ${serial} is attached to ${this.id}`)
      if (this.record.state === 'running') {
        const qmp = this.requireQmp()
        const id = deviceId(placed.node)
        const deleted = qmp.waitFor('DEVICE_DELETED', (data) => data.device === id, this.components.detachTimeoutMs)
        deleted.catch(() => {})
        await this.command('device_del', { id })
        try {
          await deleted
        } catch (err) {
          throw new ComputeError('Timeout', `the guest did not release ${serial}: ${(err as Error).message}`, { cause: err })
        }
        await this.command('blockdev-del', { 'node-name': placed.node })
      }
      await this.settle({ attachments: this.record.attachments.filter((a) => a !== placed) })
      return this.info()
    })
  }

  async consoleTail (maxBytes: number): Promise<Buffer> {
    return await this.console.tail(maxBytes)
  }

  /** Lets go of QEMU (agent stop): connections and timers close, the process runs on. */
  release (): void {
    clearInterval(this.watchTimer)
    this.watchTimer = undefined
    this.qmp?.close()
    this.qmp = undefined
    this.console.detach()
  }

  private async launch (): Promise<void> {
    const { spec } = this.record
    await mkdir(this.paths.dir, { recursive: true })
    await this.components.store.prepareSockets(this.id)
    await Promise.all([rm(this.paths.qmpSocket, { force: true }), rm(this.paths.consoleSocket, { force: true })])
    const sshPort = await freePort(this.components.forwardHost)
    const disks = [...spec.disks.map((disk, i) => ({ disk, node: `disk${i}` })), ...this.record.attachments]
    const args = qemuArgs({
      spec, disks, paths: this.paths, accelerator: this.components.accelerator, sshForward: { host: this.components.forwardHost, port: sshPort }
    })
    let exited: string | undefined
    const pid = await spawnQemu(this.components.qemuBinary, args, this.paths.qemuLog, (code, signal) => {
      exited = `QEMU exited (${signal ?? `code ${code}`})`
      void this.check()
    })
    this.components.metrics.qemuStarts.inc()
    await this.settle({ state: 'running', pid, sshPort })
    this.watch(pid)
    this.launching = true
    try {
      await this.connect(() => exited)
      await this.requireQmp().execute('cont')
    } catch (err) {
      // A QEMU that never came up did not crash: start() records why it failed.
      await this.settle({ state: 'stopped' })
      const gone = this.gone
      await killQemu(pid, this.paths.qmpSocket)
      await this.untilGone(gone, pid)
      throw await startFailure(this.id, this.paths.qemuLog, err)
    } finally {
      this.launching = false
    }
    this.logger.info({ pid, sshPort, accelerator: this.components.accelerator }, 'QEMU started')
  }

  /** Connects QMP (retrying until QEMU listens) and the console reader. */
  private async connect (exited: () => string | undefined = () => undefined): Promise<void> {
    const until = Date.now() + this.components.startTimeoutMs
    let qmp: QmpClient | undefined
    while (qmp === undefined) {
      const why = exited()
      if (why !== undefined) throw new Error(why)
      try {
        qmp = await QmpClient.connect(this.paths.qmpSocket)
      } catch (err) {
        if (Date.now() > until) throw err
        // QEMU listens within a few tens of milliseconds, and the guest waits (-S) until we are in.
        await sleep(20)
      }
    }
    this.qmp = qmp
    qmp.on('event', (event) => this.onEvent(event))
    qmp.on('close', () => { void this.check() })
    await this.console.attach(this.paths.consoleSocket)
  }

  /** With -no-shutdown a guest poweroff leaves QEMU paused; finish it so the instance reads stopped. */
  private onEvent (event: QmpEvent): void {
    if (event.event !== 'SHUTDOWN' || event.data.guest !== true) return
    this.logger.info({ reason: event.data.reason }, 'guest powered off')
    void this.settle({ state: 'stopped' }).then(async () => await this.quit()).catch((err: unknown) => {
      this.logger.warn({ err }, 'could not finish a guest poweroff')
    })
  }

  private async quit (): Promise<void> {
    const { pid } = this.record
    if (pid === undefined) return
    const gone = this.gone
    if (this.record.state === 'running') await this.settle({ state: 'stopped' })
    await this.qmp?.execute('quit').catch(() => {})
    await this.untilGone(gone, pid)
  }

  /** Waits for the exit to be observed; SIGKILL if QEMU is wedged. */
  private async untilGone (gone: Promise<void>, pid: number): Promise<void> {
    void this.check()
    if (await Promise.race([gone.then(() => true), sleep(EXIT_WAIT_MS, false)])) return
    this.logger.warn({ pid }, 'QEMU did not exit; killing it')
    await killQemu(pid, this.paths.qmpSocket)
    await gone
  }

  /** Polls the pid: an adopted QEMU is not our child, so its exit is only seen this way (or by QMP closing). */
  private watch (pid: number): void {
    clearInterval(this.watchTimer)
    this.gone = new Promise((resolve) => { this.markGone = resolve })
    this.watchTimer = setInterval(() => { void this.check() }, WATCH_INTERVAL_MS)
    this.watchTimer.unref()
    this.record.pid = pid
  }

  private async check (): Promise<void> {
    const { pid } = this.record
    if (pid === undefined || this.markGone === undefined) return
    if (await isOurQemu(pid, this.paths.qmpSocket)) return
    if (this.record.pid !== pid || this.markGone === undefined) return
    const markGone = this.markGone
    this.markGone = undefined
    this.release()
    if (this.record.state === 'running' && !this.launching) await this.crashed(`QEMU (pid ${pid}) exited unexpectedly`)
    else await this.settle({ pid: undefined })
    this.logger.info({ pid, state: this.record.state }, 'QEMU exited')
    markGone()
  }

  private async crashed (fault: string): Promise<void> {
    this.components.metrics.qemuCrashes.inc()
    this.logger.warn({ fault }, 'instance crashed')
    await this.settle({ state: 'crashed', pid: undefined, fault })
  }

  private hasSerial (serial: string): boolean {
    return this.record.spec.disks.some((d) => d.serial === serial) || this.record.attachments.some((a) => a.disk.serial === serial)
  }

  private requireQmp (): QmpClient {
    if (this.record.state !== 'running') throw new ComputeError('Conflict', `instance ${this.id} is not running`)
    if (this.qmp === undefined || this.qmp.isClosed) throw new ComputeError('HypervisorFailed', `no QMP connection to ${this.id}'s QEMU`)
    return this.qmp
  }

  private async command (name: string, args?: Record<string, unknown>): Promise<unknown> {
    const qmp = this.requireQmp()
    try {
      return await qmp.execute(name, args)
    } catch (err) {
      const detail = err instanceof QmpCommandError ? err.message : `${name}: ${(err as Error).message}`
      throw new ComputeError('HypervisorFailed', detail, { cause: err })
    }
  }

  private async settle (change: Partial<InstanceRecord>): Promise<void> {
    this.record = { ...this.record, ...change }
    await this.components.store.write(this.record)
  }

  private async exclusive<T> (operation: () => Promise<T>): Promise<T> {
    const run = this.queue.then(operation)
    this.queue = run.catch(() => {})
    return await run
  }
}
