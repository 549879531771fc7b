import { mkdtemp, rm, stat } from 'node:fs/promises'
import { createServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { ConsoleLog } from '../../compute/agent/console-log.ts'

// QEMU's side of the console is a unix socket server; a plain one stands in for it here.
test('the console log stays under twice its limit and returns the newest bytes, across reattaches', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'rs-console-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  const peers: Socket[] = []
  const server = createServer((socket) => peers.push(socket))
  const path = join(dir, 'console.sock')
  await new Promise<void>((resolve) => server.listen(path, resolve))
  t.teardown(() => { server.close() })

  const log = new ConsoleLog(join(dir, 'console.log'), 4096)
  await log.attach(path)
  await until(() => peers.length === 1)
  let written = ''
  for (let i = 0; i < 400; i++) {
    const line = `line ${i} ${'x'.repeat(i % 40)}\n`
    written += line
    peers[0]!.write(line)
  }
  await until(async () => (await log.tail(0)).toString().endsWith('line 399 ' + 'x'.repeat(399 % 40) + '\n'))
  t.true((await stat(join(dir, 'console.log'))).size <= 2 * 4096)
  t.is((await log.tail(0)).toString(), written.slice(-4096))
  t.is((await log.tail(100)).toString(), written.slice(-100))

  // A restarted agent appends to what is there.
  log.detach()
  const again = new ConsoleLog(join(dir, 'console.log'), 4096)
  await again.attach(path)
  await until(() => peers.length === 2)
  peers[1]!.write('after restart\n')
  await until(async () => (await again.tail(0)).toString().endsWith('after restart\n'))
  t.is((await again.tail(0)).toString(), (written + 'after restart\n').slice(-4096))
  again.detach()
})

async function until (check: () => boolean | Promise<boolean>): Promise<void> {
  for (const end = Date.now() + 10_000; !await check();) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
