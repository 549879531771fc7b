import { connect, type Socket } from 'node:net'
import { open, readFile, rename, stat, type FileHandle } from 'node:fs/promises'

/**
 * The serial console of one instance: the agent reads QEMU's console socket
 * and appends to a file it keeps under `2 x limitBytes` by rewriting it with
 * its last `limitBytes` whenever it grows past that. QEMU drops output while
 * no reader is connected (while the agent is down), so the guest never
 * stalls on the agent. Writes are queued so the file never interleaves.
 */
export class ConsoleLog {
  private readonly path: string
  private readonly limitBytes: number
  private socket: Socket | undefined
  private file: FileHandle | undefined
  private size = 0
  private queue: Promise<void> = Promise.resolve()

  constructor (path: string, limitBytes: number) {
    this.path = path
    this.limitBytes = limitBytes
  }

  /** Starts copying from QEMU's console socket (appending to what earlier runs left). */
  async attach (socketPath: string): Promise<void> {
    this.detach()
    this.file = await open(this.path, 'a')
    this.size = (await this.file.stat()).size
    const socket = connect(socketPath)
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    socket.on('error', () => {})
    socket.on('data', (data: Buffer) => {
      this.queue = this.queue.then(async () => await this.append(data)).catch(() => {})
    })
    this.socket = socket
  }

  /** Stops reading; what was read is still written out. */
  detach (): void {
    this.socket?.destroy()
    this.socket = undefined
    const file = this.file
    this.file = undefined
    if (file !== undefined) this.queue = this.queue.then(async () => await file.close()).catch(() => {})
  }

  /** The last `maxBytes` of the log (all of it when 0), after what has arrived so far is written. */
  async tail (maxBytes: number): Promise<Buffer> {
    await this.queue
    const want = maxBytes === 0 ? this.limitBytes : Math.min(maxBytes, this.limitBytes)
    const size = await stat(this.path).then((s) => s.size, () => 0)
    if (size === 0) return Buffer.alloc(0)
    const file = await open(this.path, 'r')
    try {
      const length = Math.min(want, size)
      const { buffer, bytesRead } = await file.read(Buffer.alloc(length), 0, length, size - length)
      return buffer.subarray(0, bytesRead)
    } finally {
      await file.close()
    }
  }

  private async append (data: Buffer): Promise<void> {
    const file = this.file
    if (file === undefined) return
    await file.write(data)
    this.size += data.length
    if (this.size > 2 * this.limitBytes) await this.trim()
  }

  /** Keeps the last limitBytes, swapped in by rename so a reader never sees a half-written log. */
  private async trim (): Promise<void> {
    const all = await readFile(this.path)
    const kept = all.subarray(Math.max(0, all.length - this.limitBytes))
    const tmp = `${this.path}.tmp`
    const out = await open(tmp, 'w')
    try {
      await out.write(kept)
    } finally {
      await out.close()
    }
    await rename(tmp, this.path)
    await this.file?.close()
    this.file = await open(this.path, 'a')
    this.size = kept.length
  }
}
