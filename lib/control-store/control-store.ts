import { RingstackError } from '../errors.ts'
import type { Startable } from '../lifecycle.ts'

/**
 * The cluster's control state (volumes, snapshots, leases, later projects,
 * users, images, instances): small JSON records under string keys with
 * etcd's semantics, so one interface runs on the embedded level store and on
 * etcd when several gateways share a cluster.
 *
 * Every change bumps a store-wide revision; each record carries the revision
 * of its last change (`modRevision`), which compare-and-set transactions
 * check. Keys are '/'-separated paths; list() takes a prefix.
 */
export interface ControlRecord<T> {
  key: string
  value: T
  modRevision: number
}

/** A condition a transaction checks first: the key's current modRevision (0 = the key must be absent). */
export interface Compare {
  key: string
  modRevision: number
}

export type ControlOp =
  | { type: 'put', key: string, value: unknown }
  | { type: 'delete', key: string }

export type ControlErrorCode =
  /** A transaction's compare failed: someone changed a key first. */
  | 'Conflict'
  | 'Unavailable'

export class ControlError extends RingstackError<ControlErrorCode> {}

export interface ControlStore extends Startable {
  get<T> (key: string): Promise<ControlRecord<T> | undefined>
  /** Records whose key starts with `prefix`, in key order. */
  list<T> (prefix: string): Promise<Array<ControlRecord<T>>>
  /**
   * Applies `ops` atomically if every compare holds, else throws Conflict and
   * changes nothing. Resolves with the new store revision once durable.
   */
  commit (compares: Compare[], ops: ControlOp[]): Promise<number>
}

/** Read-modify-write of one record, retried on Conflict: `update` returns the new value, or undefined to delete. */
export async function updateRecord<T> (store: ControlStore, key: string,
  update: (current: T | undefined) => T | undefined, attempts = 20): Promise<T | undefined> {
  for (let i = 0; ; i++) {
    const current = await store.get<T>(key)
    const next = update(current?.value)
    const op: ControlOp = next === undefined ? { type: 'delete', key } : { type: 'put', key, value: next }
    try {
      await store.commit([{ key, modRevision: current?.modRevision ?? 0 }], [op])
      return next
    } catch (err) {
      if (!(err instanceof ControlError && err.code === 'Conflict') || i + 1 >= attempts) throw err
    }
  }
}
