import test from 'ava'
import { MiB, run, runOk, startNbd } from './harness.ts'

const SPECS = [
  { name: 'vol', size: 64 * MiB, description: 'a test volume' },
  { name: 'snap', size: 16 * MiB, description: 'a snapshot', readOnly: true }
]

interface NbdinfoExport {
  'export-name': string
  'export-size': number
  description?: string
  is_read_only: boolean
  can_flush: boolean
  can_fua: boolean
  can_trim: boolean
  can_zero: boolean
  can_fast_zero: boolean
  can_multi_conn: boolean
  can_cache: boolean
  can_df: boolean
  block_size_minimum: number
  block_size_preferred: number
  block_size_maximum: number
  contexts: string[]
}

interface MapEntry {
  offset: number
  length: number
  type: number
  description: string
}

async function info (uri: string, ...args: string[]): Promise<{ protocol: string, exports: NbdinfoExport[] }> {
  return JSON.parse(await runOk('nbdinfo', ['--json', ...args, uri])) as { protocol: string, exports: NbdinfoExport[] }
}

test('nbdinfo: size, description, flags and block sizes of a writable export', async (t) => {
  const h = await startNbd(t, SPECS, { maxPayload: 4 * MiB })
  const { protocol, exports } = await info(h.uri('vol'))
  t.is(protocol, 'newstyle-fixed')
  t.is(exports.length, 1)
  const e = exports[0]!
  t.like(e, {
    'export-name': 'vol',
    'export-size': 64 * MiB,
    description: 'a test volume',
    is_read_only: false,
    can_flush: true,
    can_fua: true,
    can_trim: true,
    can_zero: true,
    can_fast_zero: true,
    can_cache: true,
    can_df: true,
    // One writer per volume: never advertised on a writable export.
    can_multi_conn: false,
    block_size_minimum: 512,
    block_size_preferred: 4096,
    // The server's maxPayload caps the device's 32 MiB.
    block_size_maximum: 4 * MiB
  })
  t.deepEqual(e.contexts, ['base:allocation'])
})

test('nbdinfo --list shows every export; the snapshot is read-only and multi-conn', async (t) => {
  const h = await startNbd(t, SPECS)
  const { exports } = await info(`nbd://127.0.0.1:${h.server.port}`, '--list')
  t.deepEqual(exports.map((e) => e['export-name']).sort(), ['snap', 'vol'])
  const snap = exports.find((e) => e['export-name'] === 'snap')!
  t.like(snap, { 'export-size': 16 * MiB, description: 'a snapshot', is_read_only: true, can_multi_conn: true, can_trim: false, can_zero: false, can_fua: false })
})

test('nbdinfo --can exit codes follow the transmission flags', async (t) => {
  const h = await startNbd(t, SPECS)
  const can = async (name: string, what: string): Promise<number> => (await run('nbdinfo', [`--can=${what}`, h.uri(name)])).code
  for (const what of ['fua', 'trim', 'zero', 'cache', 'flush', 'fast-zero']) t.is(await can('vol', what), 0, `vol can ${what}`)
  t.is(await can('vol', 'multi-conn'), 2, 'vol cannot multi-conn')
  t.is(await can('snap', 'multi-conn'), 0, 'snap can multi-conn')
  for (const what of ['trim', 'zero', 'fua']) t.is(await can('snap', what), 2, `snap cannot ${what}`)
  t.is((await run('nbdinfo', ['--is=read-only', h.uri('snap')])).code, 0)
  t.is((await run('nbdinfo', ['--is=read-only', h.uri('vol')])).code, 2)
})

test('nbdinfo --map: holes where nothing was written, after discard and after write -z -u', async (t) => {
  const h = await startNbd(t, SPECS)
  const map = async (): Promise<MapEntry[]> => JSON.parse(await runOk('nbdinfo', ['--map', '--json', h.uri('vol')])) as MapEntry[]
  const empty = await map()
  t.deepEqual(empty.map(({ offset, length, type }) => ({ offset, length, type })), [{ offset: 0, length: 64 * MiB, type: 3 }])

  await runOk('qemu-io', ['-f', 'raw', '-c', 'write -P 0x11 0 4M', '-c', 'write -P 0x22 8M 1M', h.uri('vol')])
  t.deepEqual((await map()).map(({ offset, length, type }) => ({ offset, length, type })), [
    { offset: 0, length: 4 * MiB, type: 0 },
    { offset: 4 * MiB, length: 4 * MiB, type: 3 },
    { offset: 8 * MiB, length: 1 * MiB, type: 0 },
    { offset: 9 * MiB, length: 55 * MiB, type: 3 }
  ])

  // discard (TRIM) and write -z -u (WRITE_ZEROES that may punch holes) both deallocate.
  await runOk('qemu-io', ['-f', 'raw', '-c', 'discard 1M 1M', '-c', 'write -z -u 8M 1M', '-c', 'write -z 3M 64k', h.uri('vol')])
  t.deepEqual((await map()).map(({ offset, length, type }) => ({ offset, length, type })), [
    { offset: 0, length: 1 * MiB, type: 0 },
    { offset: 1 * MiB, length: 1 * MiB, type: 3 },
    // write -z without -u sets NO_HOLE: zeroes stay allocated.
    { offset: 2 * MiB, length: 2 * MiB, type: 0 },
    { offset: 4 * MiB, length: 60 * MiB, type: 3 }
  ])
  await runOk('qemu-io', ['-f', 'raw', '-c', 'read -P 0x11 0 1M', '-c', 'read -P 0 1M 1M', '-c', 'read -P 0x11 2M 1M', '-c', 'read -P 0 3M 64k', '-c', 'read -P 0 8M 1M', h.uri('vol')])
})

test('nbdinfo of an unknown export: NBD_REP_ERR_UNKNOWN (libnbd says ENOENT)', async (t) => {
  const h = await startNbd(t, SPECS)
  const missing = await run('nbdinfo', [h.uri('nope')])
  t.not(missing.code, 0)
  t.regex(missing.stderr, /No such file or directory for export: nope/)
  t.is(h.exports.openDevices, 0)
})
