import { EventEmitter } from 'node:events'
import { connect, type Socket } from 'node:net'

/** An asynchronous event QEMU sent (SHUTDOWN, DEVICE_DELETED, POWERDOWN, ...). */
export interface QmpEvent {
  event: string
  data: Record<string, unknown>
}

/** A command QEMU answered with an error: `errorClass` is QMP's class (GenericError, DeviceNotFound, ...). */
export class QmpCommandError extends Error {
  readonly errorClass: string

  constructor (command: string, errorClass: string, desc: string) {
    super(`${command}: ${desc}`)
    this.errorClass = errorClass
    this.name = 'QmpCommandError'
  }
}

interface Pending {
  command: string
  resolve: (value: unknown) => void
  reject: (err: Error) => void
}

interface QmpClientEvents {
  event: [QmpEvent]
  close: []
}

/**
 * QEMU's machine protocol over its unix socket: one JSON object per line,
 * the greeting then qmp_capabilities before anything else, commands
 * matched to replies by id, events delivered as they come. QEMU serves one
 * client per socket; close() lets the next one (a restarted agent) in.
 */
export class QmpClient extends EventEmitter<QmpClientEvents> {
  private readonly socket: Socket
  private readonly pending = new Map<number, Pending>()
  private nextId = 1
  private buffered = ''
  private closed: Error | undefined
  /** Set by connect() until QEMU's greeting arrives. */
  private greeting: (() => void) | undefined

  private constructor (socket: Socket) {
    super()
    this.socket = socket
  }

  /** Connects and negotiates capabilities; rejects if QEMU is not listening (yet). */
  static async connect (path: string, timeoutMs = 10_000): Promise<QmpClient> {
    const socket = connect(path)
    const client = new QmpClient(socket)
    const greeted = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no QMP greeting on ${path} in ${timeoutMs} ms`)), timeoutMs)
      socket.once('error', (err) => { clearTimeout(timer); reject(err) })
      socket.once('close', () => { clearTimeout(timer); reject(new Error(`QMP socket ${path} closed before the greeting`)) })
      client.greeting = () => { clearTimeout(timer); resolve() }
    })
    socket.setEncoding('utf8')
    socket.on('data', (text: string) => client.receive(text))
    socket.on('error', () => {})
    socket.on('close', () => client.fail(new Error('QMP connection closed')))
    try {
      await greeted
      await client.execute('qmp_capabilities')
    } catch (err) {
      socket.destroy()
      throw err
    }
    return client
  }

  get isClosed (): boolean {
    return this.closed !== undefined
  }

  /** Runs one command; resolves with its `return` value. */
  async execute<T = unknown> (command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed !== undefined) throw this.closed
    const id = this.nextId++
    const reply = new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { command, resolve, reject })
    })
    this.socket.write(`${JSON.stringify(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id })}\n`)
    return await reply as T
  }

  /** Resolves with the first event named `event` that `match` accepts, or rejects after the timeout or on close. */
  async waitFor (event: string, match: (data: Record<string, unknown>) => boolean, timeoutMs: number): Promise<QmpEvent> {
    if (this.closed !== undefined) throw this.closed
    return await new Promise((resolve, reject) => {
      const cleanup = (): void => {
        clearTimeout(timer)
        this.off('event', onEvent)
        this.off('close', onClose)
      }
      const onEvent = (e: QmpEvent): void => {
        if (e.event === event && match(e.data)) { cleanup(); resolve(e) }
      }
      const onClose = (): void => { cleanup(); reject(this.closed ?? new Error('QMP connection closed')) }
      const timer = setTimeout(() => { cleanup(); reject(new Error(`no ${event} event in ${timeoutMs} ms`)) }, timeoutMs)
      this.on('event', onEvent)
      this.on('close', onClose)
    })
  }

  close (): void {
    this.socket.destroy()
  }

  private receive (text: string): void {
    this.buffered += text
    for (let end = this.buffered.indexOf('\n'); end >= 0; end = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, end).trim()
      this.buffered = this.buffered.slice(end + 1)
      if (line !== '') this.dispatch(JSON.parse(line) as Record<string, unknown>)
    }
  }

  private dispatch (message: Record<string, unknown>): void {
    if ('QMP' in message) {
      this.greeting?.()
      return
    }
    if (typeof message.event === 'string') {
      this.emit('event', { event: message.event, data: (message.data ?? {}) as Record<string, unknown> })
      return
    }
    const id = message.id
    const pending = typeof id === 'number' ? this.pending.get(id) : undefined
    if (pending === undefined) return
    this.pending.delete(id as number)
    const error = message.error as { class?: string, desc?: string } | undefined
    if (error !== undefined) pending.reject(new QmpCommandError(pending.command, error.class ?? 'GenericError', error.desc ?? 'failed'))
    else pending.resolve(message.return)
  }

  private fail (err: Error): void {
    if (this.closed !== undefined) return
    this.closed = err
    for (const pending of this.pending.values()) pending.reject(err)
    this.pending.clear()
    this.emit('close')
  }
}
