import { ControlError, type Compare, type ControlOp, type ControlRecord, type ControlStore } from './control-store.ts'

interface KeyValue {
  key: string
  value?: string
  mod_revision?: string
}

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64')
const unb64 = (text: string | undefined): string => Buffer.from(text ?? '', 'base64').toString('utf8')

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix). */
function prefixEnd (prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8')
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = bytes.subarray(0, i + 1)
      end[i]!++
      return end.toString('base64')
    }
  }
  // All 0xff (or empty): to the end of the keyspace.
  return b64('\0')
}

/**
 * The control store on etcd, for clusters with several gateways: the same
 * semantics as the embedded store (etcd's are the model), spoken through
 * etcd's JSON gateway (`/v3/kv/*`) so no gRPC client library is needed.
 * Revisions are etcd's own: store-wide, and each key's mod_revision.
 */
export class EtcdControlStore implements ControlStore {
  private readonly endpoint: string
  private readonly prefix: string

  /** `endpoint`: an etcd client URL (http://host:2379); `prefix` keeps this cluster's keys apart from others in the same etcd. */
  constructor (options: { endpoint: string, prefix?: string }) {
    this.endpoint = options.endpoint.replace(/\/$/, '')
    this.prefix = options.prefix ?? 'ringstack/'
  }

  async start (): Promise<void> {
    await this.call('/v3/kv/range', { key: b64(this.prefix), limit: 1 })
  }

  async stop (): Promise<void> {}

  async get<T> (key: string): Promise<ControlRecord<T> | undefined> {
    const reply = await this.call<{ kvs?: KeyValue[] }>('/v3/kv/range', { key: b64(this.prefix + key) })
    const kv = reply.kvs?.[0]
    return kv === undefined ? undefined : this.record<T>(kv)
  }

  async list<T> (prefix: string): Promise<Array<ControlRecord<T>>> {
    const reply = await this.call<{ kvs?: KeyValue[] }>('/v3/kv/range', {
      key: b64(this.prefix + prefix), range_end: prefixEnd(this.prefix + prefix), sort_order: 'ASCEND', sort_target: 'KEY'
    })
    return (reply.kvs ?? []).map((kv) => this.record<T>(kv))
  }

  async commit (compares: Compare[], ops: ControlOp[]): Promise<number> {
    const reply = await this.call<{ succeeded?: boolean, header?: { revision?: string } }>('/v3/kv/txn', {
      // An absent key's mod_revision is 0 in etcd too, so "must be absent" is the same compare.
      compare: compares.map((c) => ({ key: b64(this.prefix + c.key), target: 'MOD', result: 'EQUAL', mod_revision: String(c.modRevision) })),
      success: ops.map((op) => op.type === 'put'
        ? { request_put: { key: b64(this.prefix + op.key), value: b64(JSON.stringify(op.value)) } }
        : { request_delete_range: { key: b64(this.prefix + op.key) } })
    })
    if (reply.succeeded !== true) throw new ControlError('Conflict', `a compared key changed (${compares.map((c) => c.key).join(', ')})`)
    return Number(reply.header?.revision ?? 0)
  }

  private record<T> (kv: KeyValue): ControlRecord<T> {
    return { key: unb64(kv.key).slice(this.prefix.length), value: JSON.parse(unb64(kv.value)) as T, modRevision: Number(kv.mod_revision ?? 0) }
  }

  private async call<T> (path: string, body: unknown): Promise<T> {
    let response: Response
    try {
      response = await fetch(this.endpoint + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
    } catch (err) {
      throw new ControlError('Unavailable', `etcd at ${this.endpoint}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`, { cause: err })
    }
    const text = await response.text()
    if (!response.ok) throw new ControlError('Unavailable', `etcd at ${this.endpoint}: ${response.status} ${text.slice(0, 200)}`)
    return JSON.parse(text) as T
  }
}
