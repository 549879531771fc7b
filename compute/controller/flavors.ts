import { randomUUID } from 'node:crypto'
import { ControlError, type ControlStore } from '../../lib/control-store/index.ts'
import { ServerError } from './errors.ts'
import { keys, type FlavorRecord } from './records.ts'

export interface FlavorSpec {
  name: string
  vcpus: number
  ramMiB: number
  diskGiB: number
  /** Nova lets the creator choose the id; a UUID otherwise. */
  id?: string
}

/** Seeded on a cluster's first start: small enough for TCG test guests. */
export const DEFAULT_FLAVORS: FlavorSpec[] = [
  { id: '1', name: 'm1.tiny', vcpus: 1, ramMiB: 128, diskGiB: 1 },
  { id: '2', name: 'm1.small', vcpus: 1, ramMiB: 256, diskGiB: 2 },
  { id: '3', name: 'm1.medium', vcpus: 2, ramMiB: 512, diskGiB: 4 },
  { id: '4', name: 'm1.large', vcpus: 2, ramMiB: 1024, diskGiB: 10 }
]

const NAME = /^[A-Za-z0-9][A-Za-z0-9._ -]{0,254}$/
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** Flavors are cluster-wide (as in Nova): a server keeps a copy of the one it was created with. */
export class Flavors {
  private readonly control: ControlStore

  constructor (control: ControlStore) {
    this.control = control
  }

  /** Creates DEFAULT_FLAVORS once per cluster; a later start leaves whatever operators did to them. */
  async seed (): Promise<void> {
    if (await this.control.get(keys.flavorsSeeded) !== undefined) return
    const now = new Date().toISOString()
    const records = DEFAULT_FLAVORS.map((spec) => this.recordOf(spec, now))
    try {
      await this.control.commit([{ key: keys.flavorsSeeded, modRevision: 0 },
        ...records.flatMap((r) => [{ key: keys.flavor(r.id), modRevision: 0 }, { key: keys.flavorName(r.name), modRevision: 0 }])], [
        { type: 'put', key: keys.flavorsSeeded, value: { at: now } },
        ...records.flatMap((r) => [{ type: 'put' as const, key: keys.flavor(r.id), value: r }, { type: 'put' as const, key: keys.flavorName(r.name), value: r.id }])
      ])
    } catch (err) {
      // Another gateway seeded first, or an operator made one of these names already.
      if (!(err instanceof ControlError && err.code === 'Conflict')) throw err
    }
  }

  async create (spec: FlavorSpec): Promise<FlavorRecord> {
    const record = this.recordOf(spec, new Date().toISOString())
    try {
      await this.control.commit([{ key: keys.flavor(record.id), modRevision: 0 }, { key: keys.flavorName(record.name), modRevision: 0 }], [
        { type: 'put', key: keys.flavor(record.id), value: record },
        { type: 'put', key: keys.flavorName(record.name), value: record.id }
      ])
    } catch (err) {
      if (err instanceof ControlError && err.code === 'Conflict') throw new ServerError('Conflict', `a flavor with id ${record.id} or name ${record.name} already exists`)
      throw err
    }
    return record
  }

  async list (): Promise<FlavorRecord[]> {
    return (await this.control.list<FlavorRecord>(keys.flavors)).map((r) => r.value)
  }

  /** By id, then by name. */
  async get (ref: string): Promise<FlavorRecord> {
    const byId = ID.test(ref) ? await this.control.get<FlavorRecord>(keys.flavor(ref)) : undefined
    if (byId !== undefined) return byId.value
    const id = await this.control.get<string>(keys.flavorName(ref))
    const byName = id === undefined ? undefined : await this.control.get<FlavorRecord>(keys.flavor(id.value))
    if (byName === undefined) throw new ServerError('NotFound', `Flavor ${ref} could not be found.`)
    return byName.value
  }

  async delete (ref: string): Promise<void> {
    const flavor = await this.get(ref)
    await this.control.commit([], [{ type: 'delete', key: keys.flavor(flavor.id) }, { type: 'delete', key: keys.flavorName(flavor.name) }])
  }

  private recordOf (spec: FlavorSpec, createdAt: string): FlavorRecord {
    const id = spec.id ?? randomUUID()
    if (!ID.test(id)) throw new ServerError('InvalidArgument', `flavor id must match ${ID.source}`)
    if (!NAME.test(spec.name)) throw new ServerError('InvalidArgument', `flavor name must match ${NAME.source}`)
    const whole = (value: number, least: number, what: string): number => {
      if (!Number.isSafeInteger(value) || value < least) throw new ServerError('InvalidArgument', `${what} must be an integer of at least ${least}`)
      return value
    }
    return {
      id,
      name: spec.name,
      vcpus: whole(spec.vcpus, 1, 'vcpus'),
      // QEMU guests need some RAM; the agent refuses less than 64 MiB.
      ramMiB: whole(spec.ramMiB, 64, 'ram'),
      diskGiB: whole(spec.diskGiB, 0, 'disk'),
      createdAt
    }
  }
}
