import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { RunningAllInOne } from '../helpers/all-in-one.ts'
import { qemuIo, tool } from './tools.ts'

test('ringstack up --nbd-tls-psk: volumes are served only over TLS with the pre-shared key', async (t) => {
  const keys = await mkdtemp(join(tmpdir(), 'ringstack-psk-'))
  t.teardown(async () => await rm(keys, { recursive: true, force: true }))
  const pskFile = join(keys, 'keys.psk')
  t.is((await tool('psktool', ['-u', 'alice', '-p', pskFile])).code, 0)
  const cluster = await RunningAllInOne.start({ args: ['--nbd-tls-psk', pskFile] })
  t.teardown(async () => await cluster.stop())
  const vol = await cluster.volume<{ id: string }>('create', 'secret', '--size', '8M')
  const plain = cluster.nbdUri(vol.id)
  const tls = `${plain.replace('nbd://', 'nbds://alice@')}?tls-psk-file=${pskFile}`

  const info = await tool('nbdinfo', ['--size', tls])
  t.is(info.code, 0, info.stderr)
  t.is(info.stdout.trim(), String(8 * 1024 * 1024))
  const refused = await tool('nbdinfo', ['--size', plain])
  t.not(refused.code, 0, 'a client without TLS gets nothing')
  const io = await qemuIo(plain, 'read 0 4k')
  t.not(io.code, 0, 'qemu without TLS is refused too')
})
