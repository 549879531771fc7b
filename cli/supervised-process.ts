import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, type WriteStream } from 'node:fs'
import { createInterface } from 'node:readline'
import type { Logger } from '../lib/logger.ts'
import type { Startable } from '../lib/lifecycle.ts'

export interface SupervisedProcessOptions {
  name: string
  command: string
  args: string[]
  /** A stdout line matching this means the process is serving. */
  ready: RegExp
  /** The child's stderr (its structured log) is appended here. */
  logFile: string
  logger: Logger
  readyTimeoutMs?: number
  stopTimeoutMs?: number
}

/**
 * One child process of the all-in-one: started, watched and, when it dies on
 * its own, restarted with a growing delay, as an init system would.
 */
export class SupervisedProcess implements Startable {
  private readonly options: SupervisedProcessOptions
  private child: ChildProcess | undefined
  private log: WriteStream | undefined
  private stopping = false
  private restarts = 0
  /** Whether any start of this child got as far as its ready line. */
  private everReady = false
  private restartTimer: NodeJS.Timeout | undefined
  /** The ready line's match from the latest start, e.g. to learn a bound port. */
  readyMatch: RegExpMatchArray | undefined

  constructor (options: SupervisedProcessOptions) {
    this.options = options
  }

  get pid (): number | undefined {
    return this.child?.pid
  }

  async start (): Promise<void> {
    this.stopping = false
    this.log ??= createWriteStream(this.options.logFile, { flags: 'a' })
    await this.spawnOnce()
  }

  async stop (): Promise<void> {
    this.stopping = true
    clearTimeout(this.restartTimer)
    const child = this.child
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), this.options.stopTimeoutMs ?? 10_000)
      await exited
      clearTimeout(timer)
    }
    this.child = undefined
    await new Promise<void>((resolve) => {
      if (this.log === undefined) resolve()
      else this.log.end(resolve)
    })
    this.log = undefined
  }

  private async spawnOnce (): Promise<void> {
    const { name, command, args, ready, logger } = this.options
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    child.stderr?.pipe(this.log!, { end: false })
    let isReady = false
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} not ready after ${this.options.readyTimeoutMs ?? 30_000} ms`)),
        this.options.readyTimeoutMs ?? 30_000)
      const lines = createInterface({ input: child.stdout! })
      lines.on('line', (line) => {
        this.log?.write(`${line}\n`)
        const match = line.match(ready)
        if (match !== null) {
          isReady = true
          this.everReady = true
          this.readyMatch = match
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`${name} exited (${signal ?? `code ${code}`}) before it was ready; see ${this.options.logFile}`))
        // A child that never came up is a start failure for the caller, not something to retry forever.
        if (this.stopping || !this.everReady) return
        logger.warn({ child: name, code, signal }, 'child exited, restarting')
        this.scheduleRestart()
      })
    }).catch((err) => {
      if (!this.everReady) {
        child.kill('SIGKILL')
        throw err
      }
      logger.error({ child: name, err: (err as Error).message }, 'restart failed')
    })
    if (isReady && !this.stopping) logger.info({ child: name, pid: child.pid }, 'child ready')
  }

  private scheduleRestart (): void {
    this.restarts++
    const delay = Math.min(30_000, 500 * 2 ** Math.min(this.restarts - 1, 6))
    this.restartTimer = setTimeout(() => {
      if (!this.stopping) this.spawnOnce().catch(() => {})
    }, delay)
  }
}
