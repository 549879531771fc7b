import { setTimeout as sleep } from 'node:timers/promises'
import type { Operation } from './memory-exports.ts'

/** A MemoryExportSpec `hold`: every device call waits until the test opens the gate; counts the calls waiting. */
export class Gate {
  waiting = 0
  private release: (() => void) | undefined
  private readonly opened: Promise<void>

  constructor () {
    this.opened = new Promise((resolve) => { this.release = resolve })
  }

  readonly hold = async (_operation: Operation): Promise<void> => {
    this.waiting++
    await this.opened
  }

  open (): void {
    this.release?.()
  }

  /** Waits until at least `n` calls are held. */
  async held (n: number): Promise<void> {
    for (let i = 0; i < 400 && this.waiting < n; i++) await sleep(10)
    if (this.waiting < n) throw new Error(`only ${this.waiting} of ${n} calls reached the device`)
  }
}
