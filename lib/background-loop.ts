import { setTimeout as sleep } from 'node:timers/promises'
import type { Startable } from './lifecycle.ts'
import type { Logger } from './logger.ts'

/**
 * A background job run again and again, `intervalMs` after each run ends
 * (a replicator's pass, an auditor's sweep). A failed run is logged and
 * the next one comes as usual. stop() wakes the job's sleeps (`pause`)
 * and waits for the run under way, which should check `stopping`.
 */
export class BackgroundLoop implements Startable {
  private readonly name: string
  private readonly intervalMs: number
  private readonly run: () => Promise<void>
  private readonly logger: Logger
  private readonly wake = new AbortController()
  private running: Promise<void> | undefined
  #stopping = false

  constructor (name: string, intervalMs: number, run: () => Promise<void>, logger: Logger) {
    this.name = name
    this.intervalMs = intervalMs
    this.run = run
    this.logger = logger
  }

  async start (): Promise<void> {
    this.running ??= this.loop()
  }

  /** True once stop() was called: a run under way should wind down. */
  get stopping (): boolean {
    return this.#stopping
  }

  async stop (): Promise<void> {
    this.#stopping = true
    this.wake.abort()
    await this.running
  }

  /** Sleeps `ms`, or less when the loop stops. */
  async pause (ms: number): Promise<void> {
    await sleep(ms, undefined, { signal: this.wake.signal }).catch(() => {})
  }

  private async loop (): Promise<void> {
    while (!this.stopping) {
      await this.pause(this.intervalMs)
      if (this.stopping) return
      try {
        await this.run()
      } catch (err) {
        if (!this.stopping) this.logger.warn({ err }, `${this.name} failed`)
      }
    }
  }
}
