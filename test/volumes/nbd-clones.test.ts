import test from 'ava'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { countChunkFiles } from './chunk-files.ts'
import { qemuIo, tool } from './tools.ts'

const cluster = allInOneForFile(test)

interface Named { id: string }

test.serial('snapshot and clone: each sees its own data, the clone copies no chunk, the snapshot is read-only', async (t) => {
  const c = cluster()
  const vol = await c.volume<Named>('create', 'origin', '--size', '1G')
  const uri = c.nbdUri(vol.id)
  const a = await qemuIo(uri, 'write -P 0xaa 0 1M', 'write -P 0xa5 900M 1M')
  t.is(a.code, 0, a.stderr + a.stdout)

  const snap = await c.volume<Named>('snapshot', 'create', 'origin', 'origin-s1')
  const before = await countChunkFiles(c.dir)
  const clone = await c.volume<Named>('clone', 'origin-s1', 'origin-c1')
  t.is(await countChunkFiles(c.dir), before, 'a clone is metadata only: no chunk was copied, whatever the size')

  const b = await qemuIo(c.nbdUri(clone.id), 'write -P 0xbb 0 4k')
  t.is(b.code, 0, b.stderr + b.stdout)
  const cc = await qemuIo(uri, 'write -P 0xcc 0 4k')
  t.is(cc.code, 0, cc.stderr + cc.stdout)

  const volRead = await qemuIo(uri, 'read -P 0xcc 0 4k', 'read -P 0xaa 4k 1020k', 'read -P 0xa5 900M 1M')
  t.is(volRead.code, 0, 'the volume sees its own write over the snapshot data: ' + volRead.stdout)
  const cloneRead = await qemuIo(c.nbdUri(clone.id), 'read -P 0xbb 0 4k', 'read -P 0xaa 4k 1020k', 'read -P 0xa5 900M 1M', 'read -P 0 2M 1M')
  t.is(cloneRead.code, 0, 'the clone sees its write, the rest falls through to the snapshot: ' + cloneRead.stdout)
  const snapRead = await tool('qemu-io', ['-r', '-f', 'raw', c.nbdUri(snap.id), '-c', 'read -P 0xaa 0 1M', '-c', 'read -P 0xa5 900M 1M'])
  t.is(snapRead.code, 0, 'the snapshot kept the data of its moment: ' + snapRead.stdout)

  const eperm = await tool('nbdsh', ['-c', `
h.set_strict_mode(0)
h.connect_uri(${JSON.stringify(c.nbdUri(snap.id))})
assert h.is_read_only()
try:
    h.pwrite(b"x" * 512, 0)
    print("FAIL: write accepted")
except nbd.Error as e:
    print("errno", e.errno)
`])
  t.regex(eperm.stdout, /errno EPERM/, eperm.stdout + eperm.stderr)
})

test.serial('one writer at a time: a second writer is refused while the first holds the lease, and gets it after', async (t) => {
  const c = cluster()
  const vol = await c.volume<Named>('create', 'leased', '--size', '16M')
  const uri = c.nbdUri(vol.id)
  const run = await tool('nbdsh', ['-c', `
h.connect_uri(${JSON.stringify(uri)})
h.pwrite(b"\\x11" * 4096, 0)
second = nbd.NBD()
try:
    second.connect_uri(${JSON.stringify(uri)})
    print("FAIL: second writer accepted")
except nbd.Error as e:
    print("refused:", e.string)
h.shutdown()
third = nbd.NBD()
third.connect_uri(${JSON.stringify(uri)})
assert third.pread(4096, 0) == b"\\x11" * 4096
print("after release: ok")
`])
  t.regex(run.stdout, /refused: .*policy prevents NBD_OPT_GO/i, run.stdout + run.stderr)
  t.regex(run.stdout, /after release: ok/, run.stdout + run.stderr)
  t.is((await c.volume<{ status: string }>('show', vol.id)).status, 'available', 'released on disconnect')
})
