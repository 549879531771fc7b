import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { hostPort } from '../lib/host-port.ts'
import { Ring } from '../ring/index.ts'
import { GrpcStorageNodeClient } from '../storage/index.ts'
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type CommandIO } from './io.ts'
import { printTable, type Json } from './output.ts'
import { formatSize } from './sizes.ts'

const USAGE = `usage: ringstack status [--ring FILE | --data DIR] [--json]

Asks every storage node of the ring what it holds and how its replicator
is doing: up or down, partitions, objects, tombstones, bytes, quarantined
replicas, partitions held as a handoff, versions pushed, last pass.
--data DIR reads DIR/ring/object.ring.gz (ringstack up's layout; default ./data).
Exit 1 when a node is down.`

const CALL_TIMEOUT_MS = 5_000
const COLUMNS = ['node', 'state', 'partitions', 'objects', 'tombstones', 'bytes', 'quarantined', 'handoffs', 'pushed', 'last_pass'] as const

export async function statusCommand (argv: string[], io: CommandIO): Promise<number> {
  let values
  try {
    ({ values } = parseArgs({ args: argv, options: { ring: { type: 'string' }, data: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }))
  } catch (err) {
    io.err(`ringstack status: ${(err as Error).message}`)
    return EXIT_USAGE
  }
  if (values.help === true) {
    io.out(USAGE)
    return EXIT_OK
  }
  const ring = await Ring.load(values.ring ?? join(values.data ?? 'data', 'ring', 'object.ring.gz'))
  const addresses = [...new Set(ring.devices.flatMap((d) => (d === undefined ? [] : [hostPort(d.host, d.port)])))]
  const rows = await Promise.all(addresses.map(async (address) => await nodeRow(address)))
  if (values.json !== true) io.out(`ring version ${ring.version}: ${ring.partitionCount} partitions x ${ring.replicas} replicas on ${addresses.length} nodes`)
  printTable({ io, json: values.json === true }, rows, COLUMNS, (row, column) => {
    const value = row[column]
    if (column === 'bytes' && typeof value === 'number') return formatSize(value)
    if (column === 'last_pass' && typeof value === 'number') return value === 0 ? 'none yet' : new Date(value).toISOString()
    return value
  })
  return rows.every((row) => row.state === 'up') ? EXIT_OK : EXIT_FAILURE
}

async function nodeRow (address: string): Promise<Json> {
  const client = new GrpcStorageNodeClient(address)
  try {
    const status = await client.status({ deadline: Date.now() + CALL_TIMEOUT_MS })
    const sum = (field: 'partitions' | 'objects' | 'tombstones' | 'bytes' | 'quarantined'): number =>
      status.devices.reduce((total, device) => total + Number(device[field]), 0)
    return {
      node: address,
      state: 'up',
      partitions: sum('partitions'),
      objects: sum('objects'),
      tombstones: sum('tombstones'),
      bytes: sum('bytes'),
      quarantined: sum('quarantined'),
      handoffs: status.replicating ? status.handoffPartitions : undefined,
      pushed: status.replicating ? Number(status.pushed) : undefined,
      last_pass: status.replicating ? Number(status.lastPassUnixMs) : undefined
    }
  } catch (err) {
    return { node: address, state: 'down', error: (err as Error).message }
  } finally {
    client.close()
  }
}
