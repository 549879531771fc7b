import { randomUUID } from 'node:crypto'
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { gunzip, gzip } from 'node:zlib'
import type { BuilderState } from './builder.ts'
import { decodeUint16, decodeUint32, encodeArray } from './codec.ts'
import { RingError } from './errors.ts'
import { MAX_PART_POWER, MIN_PART_POWER } from './limits.ts'
import type { Device, RingData } from './types.ts'

const gzipAsync = promisify(gzip)
const gunzipAsync = promisify(gunzip)

const RING_FORMAT = 'ringstack-ring'
const BUILDER_FORMAT = 'ringstack-builder'
const FORMAT_VERSION = 1

export interface RingPaths {
  /** The builder's full state: the operator's source of truth. */
  builder: string
  /** The gzipped ring that servers and gateways load. */
  ring: string
}

export function ringPaths (ringDir: string): RingPaths {
  return { builder: join(ringDir, 'object.builder.json'), ring: join(ringDir, 'object.ring.gz') }
}

export async function writeRingFile (path: string, data: RingData): Promise<void> {
  const json = JSON.stringify({
    format: RING_FORMAT,
    formatVersion: FORMAT_VERSION,
    version: data.version,
    partPower: data.partPower,
    replicas: data.replicas,
    seed: data.seed.toString(),
    devices: data.devices.map((d) => d ?? null),
    assignment: data.assignment.map(encodeArray)
  })
  await writeAtomically(path, await gzipAsync(json))
}

/** The ring data in a ring file; the Ring constructor checks it hangs together. */
export async function readRingFile (path: string): Promise<RingData> {
  const raw = await readOrThrow(path, 'ring')
  let doc: Record<string, unknown>
  try {
    doc = parseObject((await gunzipAsync(raw)).toString('utf8'))
  } catch (err) {
    throw new RingError('InvalidRing', `${path} is not a gzipped ring file`, { cause: err })
  }
  const f = new Fields(doc, path, RING_FORMAT)
  const partPower = f.partPower()
  const replicas = f.integer('replicas')
  return {
    version: f.integer('version'),
    partPower,
    replicas,
    seed: f.seed(),
    devices: f.devices(),
    assignment: f.assignment(replicas, 2 ** partPower)
  }
}

export async function writeBuilderFile (path: string, state: Readonly<BuilderState>): Promise<void> {
  const json = JSON.stringify({
    format: BUILDER_FORMAT,
    formatVersion: FORMAT_VERSION,
    partPower: state.partPower,
    replicas: state.replicas,
    minPartHours: state.minPartHours,
    seed: state.seed.toString(),
    version: state.version,
    dirty: state.dirty,
    devices: state.devices.map((d) => d ?? null),
    removing: state.removing,
    assignment: state.assignment.map(encodeArray),
    lastMove: encodeArray(state.lastMove)
  })
  await writeAtomically(path, Buffer.from(json))
}

export async function readBuilderFile (path: string): Promise<BuilderState> {
  const raw = await readOrThrow(path, 'builder')
  let doc: Record<string, unknown>
  try {
    doc = parseObject(raw.toString('utf8'))
  } catch (err) {
    throw new RingError('InvalidRing', `${path} is not a builder file`, { cause: err })
  }
  const f = new Fields(doc, path, BUILDER_FORMAT)
  const partPower = f.partPower()
  const replicas = f.integer('replicas')
  const parts = 2 ** partPower
  const removing = doc.removing
  if (!Array.isArray(removing) || !removing.every((id) => Number.isInteger(id))) f.fail('"removing" must be a list of device ids')
  const lastMove = decodeUint32(doc.lastMove as string, parts)
  if (lastMove === undefined) f.fail('"lastMove" does not match the part power')
  if (typeof doc.dirty !== 'boolean') f.fail('"dirty" must be true or false')
  return {
    partPower,
    replicas,
    minPartHours: f.integer('minPartHours'),
    seed: f.seed(),
    version: f.integer('version'),
    devices: f.devices(),
    removing: removing as number[],
    assignment: f.assignment(replicas, parts),
    lastMove: lastMove!,
    dirty: doc.dirty as boolean
  }
}

/** Temp file, fsync, rename, fsync the directory: readers see the old file or the new one. */
async function writeAtomically (path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.${randomUUID()}.tmp`
  try {
    const file = await open(tmp, 'wx', 0o644)
    try {
      await file.writeFile(bytes)
      await file.sync()
    } finally {
      await file.close()
    }
    await rename(tmp, path)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

async function readOrThrow (path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new RingError('RingNotFound', `no ${what} file at ${path}`)
    throw err
  }
}

function parseObject (text: string): Record<string, unknown> {
  const doc: unknown = JSON.parse(text)
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Error('not a JSON object')
  return doc as Record<string, unknown>
}

/** Typed reads from a parsed file, each failure an InvalidRing naming the file and field. */
class Fields {
  private readonly doc: Record<string, unknown>
  private readonly path: string

  constructor (doc: Record<string, unknown>, path: string, format: string) {
    this.doc = doc
    this.path = path
    if (doc.format !== format) this.fail(`format is not "${format}"`)
    if (doc.formatVersion !== FORMAT_VERSION) this.fail(`unsupported format version ${String(doc.formatVersion)}`)
  }

  fail (what: string): never {
    throw new RingError('InvalidRing', `${this.path}: ${what}`)
  }

  integer (key: string): number {
    const v = this.doc[key]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) this.fail(`"${key}" must be a non-negative integer`)
    return v
  }

  partPower (): number {
    const v = this.integer('partPower')
    if (v < MIN_PART_POWER || v > MAX_PART_POWER) this.fail(`part power ${v} is out of range ${MIN_PART_POWER}..${MAX_PART_POWER}`)
    return v
  }

  seed (): bigint {
    const v = this.doc.seed
    if (typeof v !== 'string' || !/^\d{1,20}$/.test(v) || BigInt(v) >= 2n ** 64n) this.fail('"seed" must be a decimal 64-bit integer')
    return BigInt(v)
  }

  devices (): Array<Device | undefined> {
    const list = this.doc.devices
    if (!Array.isArray(list)) this.fail('"devices" must be a list')
    return list.map((d: unknown, i) => d === null ? undefined : this.device(d, i))
  }

  assignment (replicas: number, parts: number): Uint16Array[] {
    const rows = this.doc.assignment
    if (!Array.isArray(rows) || rows.length !== replicas) this.fail(`"assignment" must hold ${replicas} rows`)
    return rows.map((row: unknown) => decodeUint16(row as string, parts) ?? this.fail('an assignment row does not match the part power'))
  }

  private device (d: unknown, i: number): Device {
    const o = d as Record<string, unknown>
    const ok = typeof d === 'object' && d !== null && o.id === i &&
      ['region', 'zone', 'port'].every((k) => Number.isInteger(o[k])) &&
      typeof o.host === 'string' && typeof o.device === 'string' &&
      typeof o.weight === 'number' && Number.isFinite(o.weight) && o.weight >= 0
    if (!ok) this.fail(`device entry ${i} is malformed`)
    return { id: i, region: o.region as number, zone: o.zone as number, host: o.host as string, port: o.port as number, device: o.device as string, weight: o.weight as number }
  }
}
