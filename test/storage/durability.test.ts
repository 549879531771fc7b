import test, { type ExecutionContext } from 'ava'
import { spawn } from 'node:child_process'
import { copyFile, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { GrpcStorageNodeClient, HybridClock } from '../../storage/index.ts'
import { collect, NodeProcess, pattern, ref, rejectsWith } from './node-process.ts'

const clock = new HybridClock()
const MiB = 1024 * 1024

async function put (client: GrpcStorageNodeClient, object: string, body: Buffer, partition = 1): Promise<bigint> {
  const timestamp = clock.tick()
  const stream = client.put(ref(object, partition), { timestamp, size: body.length })
  await stream.write(body)
  await stream.finish()
  return timestamp
}

async function files (dir: string): Promise<string[]> {
  return (await readdir(dir)).sort()
}

async function waitFor (t: ExecutionContext, what: string, check: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + 10_000
  while (!(await check())) {
    if (Date.now() > until) t.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

test('kill -9 in the middle of a large put leaves the old version and no temp file', async (t) => {
  const node = await NodeProcess.start(t)
  let client = node.client()
  const old = await put(client, 'victim', Buffer.from('old version'))
  await put(client, 'bystander', pattern(100_000))
  const tmp = join(node.devicePath, 'tmp')

  const big = client.put(ref('victim'), { timestamp: clock.tick(), size: 256 * MiB })
  for (let i = 0; i < 24; i++) await big.write(pattern(MiB, i))
  await waitFor(t, 'the body to spill into tmp/', async () => {
    const names = await files(tmp)
    return names.length === 1 && (await stat(join(tmp, names[0]!))).size >= 8 * MiB
  })
  t.is(await node.kill('SIGKILL'), null)
  await rejectsWith(t, big.finish(), 'Unavailable')

  await node.launch()
  client = node.client()
  t.like(await client.head(ref('victim')), { exists: true, deleted: false, timestamp: old })
  t.is((await collect((await client.get(ref('victim'))).body)).toString(), 'old version')
  t.true((await collect((await client.get(ref('bystander'))).body)).equals(pattern(100_000)))
  t.deepEqual(await files(tmp), [])
  t.is((await files(join(node.devicePath, 'objects', '1'))).length, 2)
  t.regex(node.stderr, /device reconciled/)
})

test('a flipped byte fails the read with Corrupt, quarantines the file, and the node carries on', async (t) => {
  const node = await NodeProcess.start(t)
  const client = node.client()
  const body = pattern(3 * MiB + 5, 5)
  await put(client, 'rotten', body, 3)
  await put(client, 'healthy', Buffer.from('fine'), 3)
  const dir = join(node.devicePath, 'objects', '3')
  const head = await client.head(ref('rotten', 3))
  const [file] = (await files(dir)).filter((name) => name.endsWith(`-${head.timestamp.toString(16).padStart(16, '0')}.data`))
  t.truthy(file)

  // Flip one bit in block 40 (at 2.5 MiB): the third 1 MiB piece of the body.
  const handle = await open(join(dir, file!), 'r+')
  const byte = Buffer.alloc(1)
  await handle.read(byte, 0, 1, 2.5 * MiB)
  byte[0] = byte[0]! ^ 0x10
  await handle.write(byte, 0, 1, 2.5 * MiB)
  await handle.close()

  const read = await client.get(ref('rotten', 3))
  const received: Buffer[] = []
  await rejectsWith(t, (async () => {
    for await (const chunk of read.body) received.push(Buffer.from(chunk))
  })(), 'Corrupt')
  const prefix = Buffer.concat(received)
  t.true(prefix.length <= 2 * MiB, `${prefix.length} bytes came through`)
  t.true(prefix.equals(body.subarray(0, prefix.length)), 'only verified bytes leave the node')

  t.deepEqual(await files(join(node.devicePath, 'quarantine')), [`3-${file!}`])
  t.false((await files(dir)).includes(file!))
  t.false((await client.head(ref('rotten', 3))).exists)
  t.is((await collect((await client.get(ref('healthy', 3))).body)).toString(), 'fine')
  t.regex(node.stderr, /replica quarantined/)
  const metrics = await (await fetch(`http://127.0.0.1:${node.metricsPort}/metrics`)).text()
  t.regex(metrics, /ringstack_storage_corrupt_replicas_total\{[^}]*device="d1"[^}]*\} 1/)
  t.regex(metrics, /ringstack_storage_requests_total\{[^}]*method="GetObject"[^}]*outcome="Corrupt"[^}]*\} 1/)
})

test('a damaged trailer fails the read with Corrupt before any byte is sent', async (t) => {
  const node = await NodeProcess.start(t)
  const client = node.client()
  await put(client, 'bad-trailer', pattern(10_000))
  const dir = join(node.devicePath, 'objects', '1')
  const [file] = await files(dir)
  const path = join(dir, file!)
  const bytes = await readFile(path)
  bytes[bytes.length - 40] = bytes[bytes.length - 40]! ^ 0xff
  await writeFile(path, bytes)
  await rejectsWith(t, client.get(ref('bad-trailer')), 'Corrupt', /trailer checksum/)
  t.deepEqual(await files(join(node.devicePath, 'quarantine')), [`1-${file!}`])
  t.false((await client.head(ref('bad-trailer'))).exists)
})

test('SIGTERM exits 0 after a clean stop; the next start needs no reconcile', async (t) => {
  const node = await NodeProcess.start(t)
  const client = node.client()
  await put(client, 'kept', Buffer.from('still here'))
  t.is(await node.kill('SIGTERM'), 0)
  t.true((await files(node.devicePath)).includes('clean-shutdown'))
  await node.launch()
  t.notRegex(node.stderr, /device reconciled/)
  t.false((await files(node.devicePath)).includes('clean-shutdown'))
  t.is((await collect((await node.client().get(ref('kept'))).body)).toString(), 'still here')
  t.is(await node.kill('SIGINT'), 0)
})

test('SIGTERM lets a put in flight finish before the node exits', async (t) => {
  const node = await NodeProcess.start(t)
  const client = node.client()
  const body = pattern(8 * MiB, 3)
  const stream = client.put(ref('in-flight'), { timestamp: clock.tick(), size: body.length })
  await stream.write(body.subarray(0, 4 * MiB))
  const exited = node.kill('SIGTERM')
  await new Promise((resolve) => setTimeout(resolve, 300))
  await stream.write(body.subarray(4 * MiB))
  t.like(await stream.finish(), { exists: true, size: body.length })
  t.is(await exited, 0)
  await node.launch()
  t.true((await collect((await node.client().get(ref('in-flight'))).body)).equals(body))
})

test('the index is rebuilt from the files after an unclean stop', async (t) => {
  const node = await NodeProcess.create()
  t.teardown(async () => await node.destroy())
  await node.launch()
  const client = node.client()
  const dir = join(node.devicePath, 'objects', '1')
  const v1 = await put(client, 'twice', Buffer.from('one'))
  const [v1File] = await files(dir)
  await copyFile(join(dir, v1File!), join(node.dir, 'v1.copy'))
  const v2 = await put(client, 'twice', Buffer.from('two'))
  const [v2File] = await files(dir)
  t.is(await node.kill('SIGTERM'), 0)

  // As if the node died after renaming v2 in but before unlinking v1.
  await copyFile(join(node.dir, 'v1.copy'), join(dir, v1File!))
  await unlink(join(node.devicePath, 'clean-shutdown'))
  await node.launch()
  t.regex(node.stderr, /device reconciled/)
  t.deepEqual(await files(dir), [v2File])
  t.is((await node.client().head(ref('twice'))).timestamp, v2)
  t.is(await node.kill('SIGTERM'), 0)

  // As if v2's file were lost with the index still naming it: v1 serves again.
  await rename(join(dir, v2File!), join(node.dir, 'v2.lost'))
  await copyFile(join(node.dir, 'v1.copy'), join(dir, v1File!))
  await unlink(join(node.devicePath, 'clean-shutdown'))
  await node.launch()
  const info = await node.client().head(ref('twice'))
  t.is(info.timestamp, v1)
  t.is((await collect((await node.client().get(ref('twice'))).body)).toString(), 'one')
})

test('a node that is down fails calls fast with Unavailable; deadlines apply', async (t) => {
  const node = await NodeProcess.start(t)
  const client = node.client()
  await rejectsWith(t, client.head(ref('x'), { deadline: Date.now() - 1 }), 'Unavailable')
  t.false((await client.head(ref('x'))).exists)
  await node.kill('SIGKILL')
  const started = Date.now()
  await rejectsWith(t, client.head(ref('x')), 'Unavailable')
  await rejectsWith(t, client.get(ref('x')), 'Unavailable')
  const stream = client.put(ref('x'), { timestamp: clock.tick() })
  await rejectsWith(t, (async () => {
    await stream.write(Buffer.from('data'))
    await stream.finish()
  })(), 'Unavailable')
  t.true(Date.now() - started < 3000, `took ${Date.now() - started} ms`)

  const closedPort = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
  const nobody = new GrpcStorageNodeClient(`127.0.0.1:${closedPort}`)
  t.teardown(() => nobody.close())
  await rejectsWith(t, nobody.head(ref('x')), 'Unavailable')
})

const BIN = fileURLToPath(new URL('../../bin/ringstack.js', import.meta.url))

async function runMain (args: string[]): Promise<{ code: number | null, stderr: string }> {
  const child = spawn(process.execPath, [BIN, 'storage', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  return { code, stderr }
}

test('usage errors exit 2; a bad config or a missing device dir exits 1 with the reason', async (t) => {
  t.is((await runMain([])).code, 2)
  const node = await NodeProcess.create({ colour: 'blue' })
  t.teardown(async () => await node.destroy())
  const { code, stderr } = await runMain(['--config', node.configPath])
  t.is(code, 1)
  t.regex(stderr, /unknown key "colour"/)

  const unmounted = await NodeProcess.create({ devices: [{ name: 'd1', path: join(node.dir, 'not-mounted') }] })
  t.teardown(async () => await unmounted.destroy())
  const missing = await runMain(['--config', unmounted.configPath])
  t.is(missing.code, 1)
  t.regex(missing.stderr, /not-mounted does not exist/)
})
