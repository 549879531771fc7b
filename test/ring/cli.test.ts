import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { Ring, ringCommand } from '../../ring/index.ts'

interface Run {
  code: number
  out: string[]
  err: string[]
}

function cli (dir: string): (...argv: string[]) => Promise<Run> {
  return async (...argv) => {
    const out: string[] = []
    const err: string[] = []
    const code = await ringCommand(argv, { out: (s) => out.push(s), err: (s) => err.push(s) }, { RINGSTACK_RING_DIR: dir })
    return { code, out, err }
  }
}

async function tempDir (t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-cli-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  return dir
}

const device = (zone: number, weight = 100): string[] =>
  ['--region', '1', '--zone', String(zone), '--host', `10.0.0.${zone}`, '--port', '6200', '--device', 'sdb', '--weight', String(weight)]

test('create, add, rebalance, show, validate', async (t) => {
  const dir = await tempDir(t)
  const ring = cli(dir)
  t.is((await ring('create', '--part-power', '8', '--replicas', '3', '--min-part-hours', '0')).code, 0)
  for (let z = 0; z < 4; z++) {
    const added = await ring('add', ...device(z, z === 3 ? 200 : 100))
    t.is(added.code, 0)
    t.deepEqual(added.out, [String(z)])
  }
  const rebalanced = await ring('rebalance')
  t.is(rebalanced.code, 0)
  t.regex(rebalanced.out[0]!, /^ring version 1: moved 768 partition-replicas \(minimum 768\), balance 0%, dispersion 0%$/)

  const shown = await ring('show')
  t.is(shown.code, 0)
  t.regex(shown.out[0]!, /version 1, part power 8 \(256 partitions\), 3 replicas/)
  t.regex(shown.out[1]!, /^id\s+region\s+zone\s+host:port\s+device\s+weight\s+parts\s+target\s+balance%$/)
  t.is(shown.out.length, 6)
  t.regex(shown.out[5]!, /^3\s+1\s+3\s+10\.0\.0\.3:6200\s+sdb\s+200\s+256\s+256\s+0\.00$/)

  const json = JSON.parse((await ring('show', '--json')).out[0]!)
  t.is(json.devices.length, 4)
  t.is(json.devices.reduce((n: number, d: { parts: number }) => n + d.parts, 0), 768)

  t.deepEqual(await ring('validate'), { code: 0, out: ['ring version 1 is valid'], err: [] })
  const loaded = await Ring.load(join(dir, 'object.ring.gz'))
  t.is(loaded.version, 1)
  const v1 = await readFile(join(dir, 'object.ring.gz'))

  t.is((await ring('set-weight', '2', '0')).code, 0)
  const stale = await ring('validate', '--json')
  t.is(stale.code, 1)
  t.false(JSON.parse(stale.out[0]!).valid)
  t.regex(stale.err[0]!, /problems? found/)

  t.is((await ring('remove', '1')).code, 0)
  const second = JSON.parse((await ring('rebalance', '--json')).out[0]!)
  t.is(second.version, 2)
  t.is(second.dispersion, 0)
  t.is((await ring('validate')).code, 0)
  t.is((await Ring.load(join(dir, 'object.ring.gz'))).version, 2)
  // A ring file left behind (a crash between the builder and ring writes) is caught up.
  await writeFile(join(dir, 'object.ring.gz'), v1)
  const nothing = await ring('rebalance')
  t.regex(nothing.out[0]!, /nothing to move: ring stays at version 2/)
  t.is((await Ring.load(join(dir, 'object.ring.gz'))).version, 2)
})

test('bad usage exits 2, failures exit 1 with one line', async (t) => {
  const dir = await tempDir(t)
  const ring = cli(dir)
  for (const argv of [
    [],
    ['frobnicate'],
    ['create', '--replicas', '3'],
    ['create', '--part-power', 'ten', '--replicas', '3'],
    ['create', '--part-power', '8', '--replicas', '3', '--bogus'],
    ['remove'],
    ['set-weight', '1'],
    ['show', 'extra']
  ]) {
    const run = await ring(...argv)
    t.is(run.code, 2, argv.join(' '))
    t.is(run.err.length, 1)
  }
  t.is((await ring('help')).code, 0)

  const noBuilder = await ring('show')
  t.is(noBuilder.code, 1)
  t.regex(noBuilder.err[0]!, /no builder at .* \(run "ringstack ring create" first\)/)
  const range = await ring('create', '--part-power', '30', '--replicas', '3')
  t.is(range.code, 1)
  t.regex(range.err[0]!, /part power must be an integer from 4 to 24, got 30/)

  t.is((await ring('create', '--part-power', '6', '--replicas', '3')).code, 0)
  t.is((await ring('create', '--part-power', '6', '--replicas', '3')).code, 1)
  t.regex((await ring('remove', '7')).err[0]!, /no device with id 7/)
  t.regex((await ring('add', ...device(1).slice(0, -2), '--weight=-5')).err[0]!, /weight must be a finite number >= 0, got -5/)
  t.is((await ring('add', ...device(1, -5))).code, 2)
  t.regex((await ring('rebalance')).err[0]!, /no devices with weight > 0/)
  t.is((await ring('add', ...device(1))).code, 0)
  t.regex((await ring('add', ...device(1))).err[0]!, /already exists as id 0/)
  const lonely = await ring('rebalance')
  t.is(lonely.code, 0)
  t.regex(lonely.err[0]!, /^warning: 3 replicas but only 1 devices with weight > 0/)
})

test('--ring-dir overrides the environment', async (t) => {
  const dir = await tempDir(t)
  const other = join(dir, 'elsewhere')
  const ring = cli(join(dir, 'unused'))
  t.is((await ring('create', '--part-power', '4', '--replicas', '1', '--ring-dir', other)).code, 0)
  t.is((await ring('show', '--ring-dir', other)).code, 0)
  t.is((await ring('show')).code, 1)
})
