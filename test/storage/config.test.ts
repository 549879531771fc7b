import test from 'ava'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadNodeConfig, parseNodeConfig } from '../../storage/index.ts'

const base = { id: 'n1', host: '127.0.0.1', port: 0, devices: [{ name: 'd1', path: '/srv/d1' }] }

test('defaults fill in what a minimal config leaves out', (t) => {
  t.deepEqual(parseNodeConfig(base), {
    id: 'n1', host: '127.0.0.1', port: 0, metricsPort: 0, chunkDataPort: 0, devices: [{ name: 'd1', path: '/srv/d1' }],
    ringPath: undefined, logLevel: 'info', drainTimeoutMs: 10_000, replicationIntervalMs: 30_000, replicationMaxBytesPerSecond: 0,
    replicationMaxOpsPerSecond: 0, reclaimAgeMs: 7 * 24 * 3600 * 1000,
    auditBytesPerSecond: 10 * 1024 * 1024, auditIntervalMs: 3600_000
  })
})

test('relative paths resolve against the config file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-config-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  const path = join(dir, 'node.json')
  await writeFile(path, JSON.stringify({ ...base, devices: [{ name: 'd1', path: 'data/d1' }], ringPath: 'object.ring.gz' }))
  const config = await loadNodeConfig(path)
  t.is(config.devices[0]?.path, join(dir, 'data/d1'))
  t.is(config.ringPath, join(dir, 'object.ring.gz'))
})

const broken: Array<[string, unknown, RegExp]> = [
  ['not an object', [], /must be a JSON object/],
  ['unknown key', { ...base, prot: 1 }, /unknown key "prot"/],
  ['missing id', { ...base, id: '' }, /"id"/],
  ['bad port', { ...base, port: 70000 }, /"port" must be an integer/],
  ['bad metrics port', { ...base, metricsPort: '9100' }, /"metricsPort"/],
  ['bad chunk data port', { ...base, chunkDataPort: 70000 }, /"chunkDataPort"/],
  ['bad replication interval', { ...base, replicationIntervalMs: -1 }, /"replicationIntervalMs"/],
  ['no devices', { ...base, devices: [] }, /"devices" must be a non-empty array/],
  ['bad device name', { ...base, devices: [{ name: 'a/b', path: '/x' }] }, /devices\[0\]\.name/],
  ['duplicate device', { ...base, devices: [{ name: 'd1', path: '/x' }, { name: 'd1', path: '/y' }] }, /appears twice/],
  ['device key typo', { ...base, devices: [{ name: 'd1', pth: '/x' }] }, /unknown key "pth"/],
  ['bad log level', { ...base, logLevel: 'loud' }, /"logLevel"/]
]

for (const [title, raw, message] of broken) {
  test(`config error: ${title}`, (t) => {
    const error = t.throws(() => parseNodeConfig(raw))
    t.is((error as { code?: string }).code, 'InvalidConfig')
    t.regex(error?.message ?? '', message)
  })
}

test('an unreadable or non-JSON file says which', async (t) => {
  await t.throwsAsync(loadNodeConfig('/nonexistent/node.json'), { message: /cannot read config/ })
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-config-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  await writeFile(join(dir, 'bad.json'), '{ nope')
  await t.throwsAsync(loadNodeConfig(join(dir, 'bad.json')), { message: /not valid JSON/ })
})
