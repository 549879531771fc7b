import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import test from 'ava'
import { EtcdControlStore } from '../../lib/control-store/index.ts'
import { killAndWait } from '../helpers/processes.ts'
import { controlStoreCompliance } from './compliance.ts'
import { freePort } from '../../lib/free-port.ts'

let etcd: { child: ChildProcess, dir: string, endpoint: string } | undefined

test.before(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-etcd-'))
  const [client, peer] = [await freePort(), await freePort()]
  const endpoint = `http://127.0.0.1:${client}`
  const child = spawn('etcd', [
    '--name', 'test', '--data-dir', join(dir, 'data'),
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `test=http://127.0.0.1:${peer}`, '--log-level', 'error'
  ], { stdio: 'ignore' })
  etcd = { child, dir, endpoint }
  for (let i = 0; ; i++) {
    try {
      await new EtcdControlStore({ endpoint }).start()
      return
    } catch (err) {
      if (i > 100 || child.exitCode !== null) throw err
      await sleep(100)
    }
  }
})

test.after.always(async () => {
  if (etcd === undefined) return
  await killAndWait(etcd.child, 'SIGTERM')
  await rm(etcd.dir, { recursive: true, force: true })
})

// Each test gets its own key prefix in the one etcd: a fresh, empty store.
controlStoreCompliance(test, 'etcd', async () => {
  const store = new EtcdControlStore({ endpoint: etcd!.endpoint, prefix: `test-${randomBytes(6).toString('hex')}/` })
  await store.start()
  return store
})

test('etcd: an unreachable etcd is Unavailable, not a crash', async (t) => {
  const store = new EtcdControlStore({ endpoint: `http://127.0.0.1:${await freePort()}` })
  const err = await t.throwsAsync(store.get('x'))
  t.is((err as Error & { code?: string }).code, 'Unavailable')
})
