import { setTimeout as sleep } from 'node:timers/promises'
import {
  BlockError, ExportError, type BlockDevice, type BlockExtent, type BlockSizes, type ExportInfo, type ExportProvider,
  type WriteOptions, type ZeroOptions
} from '../../storage/volume/block-device.ts'

/** Allocation granularity: extents show holes in whole 64 KiB blocks. */
export const BLOCK = 64 * 1024

export type Operation = 'read' | 'write' | 'writeZeroes' | 'trim' | 'flush' | 'cache' | 'extents'

export interface MemoryExportSpec {
  name: string
  size: number
  description?: string
  readOnly?: boolean
  blockSizes?: BlockSizes
  /** Each request waits a random 0..delayMs first, so concurrent requests complete out of order. */
  delayMs?: number
  /** Awaited before every call: lets a test hold requests in flight for as long as it wants. */
  hold?: (operation: Operation) => Promise<void>
  /** Injected failures: return an error to fail that call. */
  fault?: (operation: Operation, offset: number, length: number) => Error | undefined
}

/** Sparse bytes: only written 64 KiB blocks exist. Shared by every device opened on the export. */
export class MemoryStore {
  readonly blocks = new Map<number, Buffer>()
  readonly size: number
  /** What reached the device with durability asked for, so tests can see FUA and FLUSH arrive. */
  readonly durable = { fuaWrites: 0, fuaZeroes: 0, fuaTrims: 0, flushes: 0 }

  constructor (size: number) {
    this.size = size
  }

  read (offset: number, length: number): Buffer {
    const out = Buffer.alloc(length)
    this.each(offset, length, (index, start, end, at) => { this.blocks.get(index)?.copy(out, at, start, end) })
    return out
  }

  write (offset: number, data: Buffer): void {
    this.each(offset, data.length, (index, start, end, at) => { data.copy(this.allocate(index), start, at, at + end - start) })
  }

  /** Zeroes the range; whole blocks are deallocated when `deallocate`. */
  zero (offset: number, length: number, deallocate: boolean): void {
    this.each(offset, length, (index, start, end) => {
      if (deallocate && start === 0 && end === BLOCK) this.blocks.delete(index)
      else if (deallocate) this.blocks.get(index)?.fill(0, start, end)
      else this.allocate(index).fill(0, start, end)
    })
  }

  extents (offset: number, length: number): BlockExtent[] {
    const out: BlockExtent[] = []
    this.each(offset, length, (index, start, end) => {
      const hole = !this.blocks.has(index)
      const last = out[out.length - 1]
      if (last !== undefined && last.hole === hole) last.length += end - start
      else out.push({ length: end - start, hole, zero: hole })
    })
    return out
  }

  private allocate (index: number): Buffer {
    let block = this.blocks.get(index)
    if (block === undefined) {
      block = Buffer.alloc(BLOCK)
      this.blocks.set(index, block)
    }
    return block
  }

  /** Calls `visit(block index, start in block, end in block, position in range)` for each block the range touches. */
  private each (offset: number, length: number, visit: (index: number, start: number, end: number, at: number) => void): void {
    let at = 0
    while (at < length) {
      const position = offset + at
      const index = Math.floor(position / BLOCK)
      const start = position - index * BLOCK
      const end = Math.min(BLOCK, start + length - at)
      visit(index, start, end, at)
      at += end - start
    }
  }
}

const DEFAULT_SIZES: BlockSizes = { minimum: 512, preferred: 4096, maximum: 32 * 1024 * 1024 }

class MemoryDevice implements BlockDevice {
  readonly size: number
  readonly readOnly: boolean
  readonly blockSizes: BlockSizes
  private readonly store: MemoryStore
  private readonly spec: MemoryExportSpec
  private readonly onClose: () => void
  private inFlight = 0
  private idle: (() => void) | undefined
  private closed = false

  constructor (store: MemoryStore, spec: MemoryExportSpec, onClose: () => void) {
    this.store = store
    this.spec = spec
    this.size = store.size
    this.readOnly = spec.readOnly ?? false
    this.blockSizes = spec.blockSizes ?? DEFAULT_SIZES
    this.onClose = onClose
  }

  async read (offset: number, length: number): Promise<Buffer> {
    return await this.op('read', offset, length, false, () => this.store.read(offset, length))
  }

  async write (offset: number, data: Buffer, options: WriteOptions): Promise<void> {
    await this.op('write', offset, data.length, true, () => {
      this.store.write(offset, data)
      if (options.fua) this.store.durable.fuaWrites++
    })
  }

  async writeZeroes (offset: number, length: number, options: ZeroOptions): Promise<void> {
    await this.op('writeZeroes', offset, length, true, () => {
      // Zeroing by deallocation is fast; filling allocated blocks is not.
      if (options.fastOnly && !options.mayTrim) throw new BlockError('NotSupported', 'zeroing without holes is not fast')
      this.store.zero(offset, length, options.mayTrim)
      if (options.fua) this.store.durable.fuaZeroes++
    })
  }

  async trim (offset: number, length: number, options: WriteOptions): Promise<void> {
    await this.op('trim', offset, length, true, () => {
      this.store.zero(offset, length, true)
      if (options.fua) this.store.durable.fuaTrims++
    })
  }

  async flush (): Promise<void> {
    await this.op('flush', 0, 0, false, () => { this.store.durable.flushes++ })
  }

  async cache (offset: number, length: number): Promise<void> {
    await this.op('cache', offset, length, false, () => {})
  }

  async extents (offset: number, length: number): Promise<BlockExtent[]> {
    return await this.op('extents', offset, length, false, () => this.store.extents(offset, length))
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    while (this.inFlight > 0) await new Promise<void>((resolve) => { this.idle = resolve })
    this.onClose()
  }

  private async op<T> (operation: Operation, offset: number, length: number, writes: boolean, run: () => T): Promise<T> {
    if (this.closed) throw new BlockError('ShuttingDown', 'device closed')
    this.inFlight++
    try {
      if (this.spec.delayMs !== undefined) await sleep(Math.random() * this.spec.delayMs)
      await this.spec.hold?.(operation)
      if (writes && this.readOnly) throw new BlockError('ReadOnly', 'read-only export')
      if (offset + length > this.size) throw new BlockError('OutOfRange', `${operation} past the end`)
      const fault = this.spec.fault?.(operation, offset, length)
      if (fault !== undefined) throw fault
      return run()
    } finally {
      this.inFlight--
      if (this.inFlight === 0) this.idle?.()
    }
  }
}

interface Entry {
  spec: MemoryExportSpec
  store: MemoryStore
}

/** A test ExportProvider over in-memory sparse exports; counts open devices so tests can see them released. */
export class MemoryExports implements ExportProvider {
  private readonly entries = new Map<string, Entry>()
  private opened = 0

  constructor (specs: MemoryExportSpec[] = []) {
    for (const spec of specs) this.add(spec)
  }

  add (spec: MemoryExportSpec): MemoryStore {
    const store = new MemoryStore(spec.size)
    this.entries.set(spec.name, { spec, store })
    return store
  }

  store (name: string): MemoryStore {
    return this.entry(name).store
  }

  /** Devices opened and not yet closed. */
  get openDevices (): number {
    return this.opened
  }

  async list (): Promise<ExportInfo[]> {
    return [...this.entries.values()].map(({ spec }) => ({ name: spec.name, description: spec.description ?? '' }))
  }

  async describe (name: string): Promise<ExportInfo & { size: number, readOnly: boolean, blockSizes: BlockSizes }> {
    const { spec } = this.entry(name)
    return { name: spec.name, description: spec.description ?? '', size: spec.size, readOnly: spec.readOnly ?? false, blockSizes: spec.blockSizes ?? DEFAULT_SIZES }
  }

  async open (name: string): Promise<BlockDevice> {
    const { spec, store } = this.entry(name)
    this.opened++
    return new MemoryDevice(store, spec, () => { this.opened-- })
  }

  private entry (name: string): Entry {
    const entry = this.entries.get(name)
    if (entry === undefined) throw new ExportError('UnknownExport', `no export ${name}`)
    return entry
  }
}
