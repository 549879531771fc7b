import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import test from 'ava'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { toolAvailable, treeDigest, writeTree } from '../s3/tools.ts'
import { keystoneEnv, openstack, swift, v1Env } from './clients.ts'

/** python-swiftclient's `swift` (v1 auth and Keystone v3) and the `openstack` CLI, unchanged, against a real all-in-one. */

const cluster = allInOneForFile(test)
const run = toolAvailable('swift', ['--version']) ? test.serial : test.skip
const runOpenstack = toolAvailable('openstack', ['--version']) ? test.serial : test.skip

function lines (text: string): string[] {
  return text.split('\n').filter((l) => l !== '')
}

/** `swift stat` output as a map of field to value. */
function fields (text: string): Map<string, string> {
  return new Map(lines(text).map((l) => {
    const colon = l.indexOf(':')
    return [l.slice(0, colon).trim(), l.slice(colon + 1).trim()]
  }))
}

run('swift CLI with v1 auth: stat, post, upload a directory, list with prefix and delimiter, download, copy, delete', async (t) => {
  const env = v1Env(cluster())
  const dir = join(cluster().dir, 'v1')
  const files = new Map([
    ['tree/a.txt', Buffer.from('alpha\n')],
    ['tree/sub/b.txt', Buffer.from('beta\n')],
    ['tree/sub/deeper/c.bin', randomBytes(200_000)],
    ['tree/z.txt', Buffer.from('')]
  ])
  await writeTree(dir, files)
  t.is(fields(await swift(env, ['stat'])).get('Account'), 'AUTH_admin')

  await swift(env, ['post', 'docs', '-m', 'Color:blue', '-H', 'X-Container-Meta-Owner: team'])
  const container = fields(await swift(env, ['stat', 'docs']))
  t.is(container.get('Meta Color'), 'blue')
  t.is(container.get('Meta Owner'), 'team')

  await swift(env, ['upload', 'docs', 'tree'], dir)
  t.deepEqual(lines(await swift(env, ['list', 'docs'])), ['tree/a.txt', 'tree/sub/b.txt', 'tree/sub/deeper/c.bin', 'tree/z.txt'])
  t.deepEqual(lines(await swift(env, ['list', 'docs', '--prefix', 'tree/sub/'])), ['tree/sub/b.txt', 'tree/sub/deeper/c.bin'])
  t.deepEqual(lines(await swift(env, ['list', 'docs', '--prefix', 'tree/', '--delimiter', '/'])), ['tree/a.txt', 'tree/sub/', 'tree/z.txt'])

  const stats = fields(await swift(env, ['stat', 'docs']))
  t.is(stats.get('Objects'), '4')
  t.is(stats.get('Bytes'), String([...files.values()].reduce((sum, b) => sum + b.length, 0)))

  await swift(env, ['post', 'docs', 'tree/a.txt', '-m', 'Reviewed:yes'])
  t.is(fields(await swift(env, ['stat', 'docs', 'tree/a.txt'])).get('Meta Reviewed'), 'yes')

  const down = join(cluster().dir, 'v1-down')
  await mkdir(down)
  await swift(env, ['download', 'docs'], down)
  t.deepEqual(await treeDigest(down), await treeDigest(dir), 'every file downloads with its bytes (swift checks each ETag too)')

  await swift(env, ['copy', '--destination', '/docs/copied.txt', 'docs', 'tree/a.txt'])
  t.is(await swift(env, ['download', 'docs', 'copied.txt', '-o', '-']), 'alpha\n')

  await swift(env, ['delete', 'docs', 'copied.txt', 'tree/z.txt'])
  t.deepEqual(lines(await swift(env, ['list', 'docs'])), ['tree/a.txt', 'tree/sub/b.txt', 'tree/sub/deeper/c.bin'])
  await swift(env, ['delete', 'docs'])
  t.false(lines(await swift(env, ['list'])).includes('docs'))
})

run('swift CLI uploads with --segment-size as SLO and as DLO; both download whole and delete with their segments', async (t) => {
  const env = v1Env(cluster())
  const dir = join(cluster().dir, 'large')
  await mkdir(dir, { recursive: true })
  const data = randomBytes(1_000_000 + 1234)
  await writeFile(join(dir, 'big.bin'), data)
  await swift(env, ['upload', '--use-slo', '--segment-size', '262144', '--object-name', 'slo.bin', 'large', 'big.bin'], dir)
  await swift(env, ['upload', '--segment-size', '262144', '--object-name', 'dlo.bin', 'large', 'big.bin'], dir)
  const slo = fields(await swift(env, ['stat', 'large', 'slo.bin']))
  t.is(slo.get('Content Length'), String(data.length))
  t.is(slo.get('X-Static-Large-Object'), 'True')
  const dlo = fields(await swift(env, ['stat', 'large', 'dlo.bin']))
  t.is(dlo.get('Content Length'), String(data.length))
  t.regex(dlo.get('Manifest') ?? '', /^large_segments\/dlo\.bin\//)
  t.is(lines(await swift(env, ['list', 'large_segments'])).length, 8, 'four segments each')

  for (const name of ['slo.bin', 'dlo.bin']) {
    await swift(env, ['download', 'large', name, '-o', join(dir, `${name}.down`)])
    t.true((await readFile(join(dir, `${name}.down`))).equals(data), `${name} reassembles`)
  }
  await swift(env, ['delete', 'large', 'slo.bin', 'dlo.bin'])
  t.deepEqual(lines(await swift(env, ['list', 'large_segments'])), [], 'deleting a large object takes its segments')
})

run('swift CLI with Keystone v3 finds object-store in the catalog', async (t) => {
  const env = keystoneEnv(cluster())
  const dir = join(cluster().dir, 'v3')
  await writeTree(dir, new Map([['note.txt', Buffer.from('through keystone\n')]]))
  t.is(fields(await swift(env, ['stat'])).get('Account'), 'AUTH_admin')
  await swift(env, ['upload', 'v3c', 'note.txt'], dir)
  t.deepEqual(lines(await swift(env, ['list', 'v3c'])), ['note.txt'])
  t.is(await swift(env, ['download', 'v3c', 'note.txt', '-o', '-']), 'through keystone\n')
  await swift(env, ['delete', 'v3c'])
})

runOpenstack('openstack container create, object create|list|show|delete with a Keystone v3 token', async (t) => {
  const env = keystoneEnv(cluster())
  const dir = join(cluster().dir, 'osc')
  await writeTree(dir, new Map([['hello.txt', Buffer.from('hello openstack\n')]]))
  const created = JSON.parse(await openstack(env, ['container', 'create', 'osc', '-f', 'json'])) as Array<{ container: string }>
  t.is(created[0]?.container, 'osc')
  const object = JSON.parse(await openstack(env, ['object', 'create', 'osc', 'hello.txt', '-f', 'json'], dir)) as Array<{ object: string, etag: string }>
  t.is(object[0]?.object, 'hello.txt')
  t.is(object[0]?.etag, createHash('md5').update('hello openstack\n').digest('hex'))
  const listed = JSON.parse(await openstack(env, ['object', 'list', 'osc', '-f', 'json'])) as Array<{ Name: string }>
  t.deepEqual(listed.map((o) => o.Name), ['hello.txt'])
  const shown = JSON.parse(await openstack(env, ['object', 'show', 'osc', 'hello.txt', '-f', 'json'])) as Record<string, string>
  t.is(shown['content-length'], '16')
  t.is(shown.account, 'AUTH_admin')
  await openstack(env, ['object', 'delete', 'osc', 'hello.txt'])
  t.deepEqual(JSON.parse(await openstack(env, ['object', 'list', 'osc', '-f', 'json'])), [])
  await openstack(env, ['container', 'delete', 'osc'])
})
