import test from 'ava'
import { MiB, run, runOk, startNbd } from './harness.ts'

const SPECS = [
  { name: 'vol', size: 32 * MiB, delayMs: 2 },
  { name: 'snap', size: 8 * MiB, readOnly: true }
]

test('qemu-io: patterns written (plain and FUA), flushed, read back; FUA and FLUSH reach the device', async (t) => {
  const h = await startNbd(t, SPECS)
  // qemu-io is writethrough (every write FUA) unless told writeback.
  const out = await runOk('qemu-io', ['-f', 'raw', '-t', 'writeback',
    '-c', 'write -P 0xa1 0 1M',
    '-c', 'write -f -P 0xb2 1M 512k',
    '-c', 'aio_write -P 0xc3 4M 64k',
    '-c', 'aio_write -P 0xd4 5M 4k',
    '-c', 'aio_flush',
    '-c', 'flush',
    '-c', 'write -z -f 6M 128k',
    '-c', 'discard 7M 64k',
    '-c', 'read -P 0xa1 0 1M',
    '-c', 'read -P 0xb2 1M 512k',
    '-c', 'read -P 0xc3 4M 64k',
    '-c', 'read -P 0xd4 5M 4k',
    '-c', 'read -P 0 6M 128k',
    '-c', 'read -v 1536k 512',
    h.uri('vol')])
  t.notRegex(out, /error|failed/i)
  t.regex(out, /read 512\/512 bytes at offset 1572864/)
  t.true(out.includes('00180000:  00 00 00 00'), 'past the written data reads zeroes')
  const durable = h.exports.store('vol').durable
  t.is(durable.fuaWrites, 1)
  t.is(durable.fuaZeroes, 1)
  t.true(durable.flushes >= 2)
  // A second connection sees what the first wrote.
  await runOk('qemu-io', ['-f', 'raw', '-r', '-c', 'read -P 0xb2 1M 512k', h.uri('vol')])
})

test('qemu-io: unaligned writes are the client\'s read-modify-write against a 512-byte minimum', async (t) => {
  const h = await startNbd(t, SPECS)
  await runOk('qemu-io', ['-f', 'raw', '-c', 'write -P 0x11 0 4k', '-c', 'write -P 0x22 100 7', h.uri('vol')])
  const out = await runOk('qemu-io', ['-f', 'raw', '-c', 'read -P 0x11 0 100', '-c', 'read -P 0x22 100 7', '-c', 'read -P 0x11 107 3989', h.uri('vol')])
  t.notRegex(out, /fail|error/i)
})

test('qemu-io: a read-only export reads, and qemu will not open it for writing', async (t) => {
  const h = await startNbd(t, SPECS)
  h.exports.store('snap').write(0, Buffer.alloc(4096, 0x7e))
  await runOk('qemu-io', ['-f', 'raw', '-r', '-c', 'read -P 0x7e 0 4k', h.uri('snap')])
  // qemu honours NBD_FLAG_READ_ONLY itself; the server's EPERM for writes that come anyway is in nbdsh.test.ts.
  const write = await run('qemu-io', ['-f', 'raw', '-c', 'write -P 1 0 4k', h.uri('snap')])
  t.not(write.code, 0)
  t.regex(write.stderr, /Permission denied/)
  t.is(h.exports.store('snap').read(0, 1)[0], 0x7e)
})
