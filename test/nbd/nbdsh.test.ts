import test from 'ava'
import { BlockError } from '../../storage/volume/block-device.ts'
import { MiB, metricValue, nbdsh, startNbd } from './harness.ts'

/**
 * Edge cases through libnbd (nbdsh) with strict mode off, so requests the
 * client would refuse to send reach the server. Each script prints one JSON
 * line; `check(fn, ...)` returns the errno name a call failed with, or "ok".
 */
const PRELUDE = `
import errno
def check(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
        return "ok"
    except nbd.Error as e:
        return errno.errorcode.get(e.errno, str(e.errno))
`

async function sh<T> (uri: string, body: string): Promise<T> {
  return await nbdsh<T>(uri, `${PRELUDE}\n${body}`)
}

const SIZE = 16 * MiB

test('out of range: read, trim, cache, block status EINVAL; write and write-zeroes ENOSPC', async (t) => {
  const h = await startNbd(t, [{ name: 'vol', size: SIZE }])
  const result = await sh<Record<string, string>>(h.uri('vol'), `
h.set_strict_mode(0)
h.add_meta_context("base:allocation")
h.connect_uri(uri)
size = h.get_size()
r = {}
r["read"] = check(h.pread, 1024, size - 512)
r["read_far"] = check(h.pread, 512, 1 << 62)
r["write"] = check(h.pwrite, b"x" * 1024, size - 512)
r["zero"] = check(h.zero, 1024, size - 512)
r["trim"] = check(h.trim, 1024, size - 512)
r["cache"] = check(h.cache, 1024, size - 512)
r["block_status"] = check(h.block_status, 1024, size, lambda *a: 0)
r["last_block"] = check(h.pread, 512, size - 512)
r["still_works"] = check(h.pwrite, b"y" * 512, 0)
print(json.dumps(r))
`)
  t.deepEqual(result, {
    read: 'EINVAL',
    read_far: 'EINVAL',
    write: 'ENOSPC',
    zero: 'ENOSPC',
    trim: 'EINVAL',
    cache: 'EINVAL',
    block_status: 'EINVAL',
    last_block: 'ok',
    still_works: 'ok'
  })
  t.is(await metricValue(h.metrics, 'nbd_errors_total', { errno: 'ENOSPC' }), 2)
  t.is(await metricValue(h.metrics, 'nbd_errors_total', { errno: 'EINVAL' }), 5)
})

test('misaligned against the 512-byte minimum: EINVAL; unknown and misplaced flags: EINVAL', async (t) => {
  const h = await startNbd(t, [{ name: 'vol', size: SIZE }])
  const result = await sh<Record<string, string>>(h.uri('vol'), `
h.set_strict_mode(0)
h.connect_uri(uri)
r = {}
r["min"] = h.get_block_size(nbd.SIZE_MINIMUM)
r["read_len"] = check(h.pread, 100, 0)
r["read_off"] = check(h.pread, 512, 100)
r["write_len"] = check(h.pwrite, b"x" * 513, 0)
r["trim_off"] = check(h.trim, 4096, 1)
r["zero_len"] = check(h.zero, 1000, 4096)
r["no_hole_on_read"] = check(h.pread, 512, 0, nbd.CMD_FLAG_NO_HOLE)
r["req_one_on_write"] = check(h.pwrite, b"x" * 512, 0, nbd.CMD_FLAG_REQ_ONE)
r["fua_on_read"] = check(h.pread, 512, 0, nbd.CMD_FLAG_FUA)
r["flush"] = check(h.flush)
r["aligned"] = check(h.pwrite, b"x" * 4096, 4096)
print(json.dumps(r))
`)
  t.deepEqual(result, {
    min: 512,
    read_len: 'EINVAL',
    read_off: 'EINVAL',
    write_len: 'EINVAL',
    trim_off: 'EINVAL',
    zero_len: 'EINVAL',
    no_hole_on_read: 'EINVAL',
    req_one_on_write: 'EINVAL',
    // FUA is valid on every command once advertised.
    fua_on_read: 'ok',
    flush: 'ok',
    aligned: 'ok'
  })
})

test('zero-length requests succeed without touching the device; zero-length block status is EINVAL', async (t) => {
  const h = await startNbd(t, [{ name: 'vol', size: SIZE, fault: (op, _offset, length) => length === 0 && op !== 'flush' ? new Error('zero-length call reached the device') : undefined }])
  for (const structured of [true, false]) {
    const result = await sh<Record<string, string | number>>(h.uri('vol'), `
h.set_strict_mode(0)
h.set_request_structured_replies(${structured ? 'True' : 'False'})
h.add_meta_context("base:allocation")
h.connect_uri(uri)
r = {}
r["read"] = len(h.pread(0, 4096))
r["write"] = check(h.pwrite, b"", 4096)
r["trim"] = check(h.trim, 0, 4096)
r["zero"] = check(h.zero, 0, 4096)
r["cache"] = check(h.cache, 0, 4096)
r["block_status"] = check(h.block_status, 0, 4096, lambda *a: 0) if h.can_meta_context("base:allocation") else "EINVAL"
print(json.dumps(r))
`)
    t.deepEqual(result, { read: 0, write: 'ok', trim: 'ok', zero: 'ok', cache: 'ok', block_status: 'EINVAL' }, `structured ${structured}`)
  }
  t.is(h.exports.store('vol').blocks.size, 0)
})

test('read-only export: write, trim and write-zeroes are EPERM; reads and flush work', async (t) => {
  const h = await startNbd(t, [{ name: 'snap', size: SIZE, readOnly: true }])
  h.exports.store('snap').write(0, Buffer.alloc(512, 0x42))
  const result = await sh<Record<string, string>>(h.uri('snap'), `
h.set_strict_mode(0)
h.connect_uri(uri)
r = {}
r["ro"] = str(h.is_read_only())
r["write"] = check(h.pwrite, b"x" * 512, 0)
r["write_fua"] = check(h.pwrite, b"x" * 512, 0, nbd.CMD_FLAG_FUA)
r["trim"] = check(h.trim, 512, 0)
r["zero"] = check(h.zero, 512, 0)
r["read"] = h.pread(512, 0).hex()[:4]
r["flush"] = check(h.flush)
print(json.dumps(r))
`)
  t.deepEqual(result, { ro: 'True', write: 'EPERM', write_fua: 'EPERM', trim: 'EPERM', zero: 'EPERM', read: '4242', flush: 'ok' })
  t.is(h.exports.store('snap').read(0, 1)[0], 0x42)
})

test('oversized payloads: a read is EOVERFLOW with structured replies and EINVAL without; a write is EINVAL and the stream stays in sync', async (t) => {
  const h = await startNbd(t, [{ name: 'vol', size: SIZE }], { maxPayload: MiB })
  for (const structured of [true, false]) {
    const result = await sh<Record<string, string | number>>(h.uri('vol'), `
h.set_strict_mode(0)
h.set_request_structured_replies(${structured ? 'True' : 'False'})
h.connect_uri(uri)
r = {}
r["max"] = h.get_block_size(nbd.SIZE_MAXIMUM)
r["read"] = check(h.pread, 2 * 1024 * 1024, 0)
r["write"] = check(h.pwrite, b"\\x07" * (2 * 1024 * 1024), 0)
r["after"] = check(h.pwrite, b"\\x09" * 4096, 0)
r["back"] = h.pread(4096, 0)[:2].hex()
# Trim and write-zeroes have no payload: any length is fine.
r["big_trim"] = check(h.trim, 8 * 1024 * 1024, 0)
r["big_zero"] = check(h.zero, 8 * 1024 * 1024, 0)
print(json.dumps(r))
`)
    t.deepEqual(result, { max: MiB, read: structured ? 'EOVERFLOW' : 'EINVAL', write: 'EINVAL', after: 'ok', back: '0909', big_trim: 'ok', big_zero: 'ok' }, `structured ${structured}`)
  }
})

test('64 requests in flight complete out of order; each reply carries its own cookie and data', async (t) => {
  const h = await startNbd(t, [{ name: 'vol', size: SIZE, delayMs: 30 }])
  // Each 64 KiB block holds its own index, so a reply matched to the wrong request shows.
  const store = h.exports.store('vol')
  for (let i = 0; i < 64; i++) store.write(i * 65536, Buffer.alloc(65536, i))
  const result = await sh<{ submitted: number[], completed: number[], wrong: number[] }>(h.uri('vol'), `
h.connect_uri(uri)
submitted, completed, bufs = [], [], {}
def done(i):
    def cb(error):
        completed.append(i)
        return 0
    return cb
for i in range(64):
    buf = nbd.Buffer(65536)
    cookie = h.aio_pread(buf, i * 65536, completion=done(i))
    bufs[i] = (cookie, buf)
    submitted.append(i)
while h.aio_in_flight() > 0:
    h.poll(-1)
wrong = [i for i, (cookie, buf) in bufs.items() if buf.to_bytearray() != bytes([i]) * 65536]
print(json.dumps({"submitted": submitted, "completed": completed, "wrong": wrong}))
`)
  t.deepEqual(result.wrong, [])
  t.deepEqual([...result.completed].sort((a, b) => a - b), result.submitted)
  t.notDeepEqual(result.completed, result.submitted, 'replies came back out of order')
})

test('structured reads: holes and data in one reply, DF gives one chunk, block status and REQ_ONE', async (t) => {
  const h = await startNbd(t, [{ name: 'vol', size: SIZE }])
  const store = h.exports.store('vol')
  store.write(64 * 1024, Buffer.alloc(64 * 1024, 0xaa))
  store.write(256 * 1024, Buffer.alloc(128 * 1024, 0xbb))
  const result = await sh<Record<string, unknown>>(h.uri('vol'), `
h.add_meta_context("base:allocation")
h.connect_uri(uri)
r = {}
chunks = []
def chunk(buf, offset, status, error):
    chunks.append([offset, len(buf), status])
    return 0
data = h.pread_structured(512 * 1024, 0, chunk)
r["chunks"] = chunks
r["data_ok"] = data == bytes(64 * 1024) + b"\\xaa" * 65536 + bytes(128 * 1024) + b"\\xbb" * 131072 + bytes(128 * 1024)
chunks = []
data = h.pread_structured(512 * 1024, 0, chunk, nbd.CMD_FLAG_DF)
r["df_chunks"] = chunks
r["df_ok"] = data[65536:65538] == b"\\xaa\\xaa" and data[:2] == b"\\0\\0"
extents = []
def ext(meta, offset, entries, error):
    extents.append([meta, list(entries)])
    return 0
h.block_status(512 * 1024, 0, ext)
r["extents"] = extents
extents = []
h.block_status(512 * 1024, 0, ext, nbd.CMD_FLAG_REQ_ONE)
r["req_one"] = extents
print(json.dumps(r))
`)
  const K = 1024
  t.deepEqual(result.chunks, [
    [0, 64 * K, 2], [64 * K, 64 * K, 1], [128 * K, 128 * K, 2], [256 * K, 128 * K, 1], [384 * K, 128 * K, 2]
  ], 'OFFSET_HOLE (2) and OFFSET_DATA (1) chunks in order')
  t.true(result.data_ok)
  t.deepEqual(result.df_chunks, [[0, 512 * K, 1]])
  t.true(result.df_ok)
  t.deepEqual(result.extents, [['base:allocation', [64 * K, 3, 64 * K, 0, 128 * K, 3, 128 * K, 0, 128 * K, 3]]])
  t.deepEqual(result.req_one, [['base:allocation', [64 * K, 3]]])
})

test('device errors: Io is EIO (ERROR_OFFSET chunk at the failed run), Fenced is EIO, fast zero that cannot be fast is ENOTSUP, FUA trim reaches the device', async (t) => {
  const h = await startNbd(t, [{
    name: 'vol',
    size: SIZE,
    fault: (op, offset) => {
      if (op === 'read' && offset === 128 * 1024) return new BlockError('Io', 'replicas unreachable')
      if (op === 'write' && offset === MiB) return new BlockError('Fenced', 'lease lost')
      if (op === 'cache') return new Error('unexpected bug')
      return undefined
    }
  }])
  const store = h.exports.store('vol')
  store.write(0, Buffer.alloc(64 * 1024, 1))
  store.write(128 * 1024, Buffer.alloc(64 * 1024, 2))
  const result = await sh<Record<string, unknown>>(h.uri('vol'), `
h.connect_uri(uri)
r = {}
chunks = []
def chunk(buf, offset, status, error):
    chunks.append([offset, len(buf), status, error.value])
    return 0
r["read"] = check(h.pread_structured, 256 * 1024, 0, chunk)
r["chunks"] = chunks
r["fenced"] = check(h.pwrite, b"x" * 512, 1024 * 1024)
r["fast_zero"] = check(h.zero, 65536, 0, nbd.CMD_FLAG_FAST_ZERO | nbd.CMD_FLAG_NO_HOLE)
r["fast_zero_may_trim"] = check(h.zero, 65536, 0, nbd.CMD_FLAG_FAST_ZERO)
r["fua_trim"] = check(h.trim, 65536, 64 * 1024, nbd.CMD_FLAG_FUA)
r["cache"] = check(h.cache, 4096, 0)
print(json.dumps(r))
`)
  t.like(result, { read: 'EIO', fenced: 'EIO', fast_zero: 'ENOTSUP', fast_zero_may_trim: 'ok', fua_trim: 'ok', cache: 'EIO' })
  const chunks = result.chunks as Array<[number, number, number, number]>
  // Data, a hole, an ERROR_OFFSET chunk at the failed run's offset (libnbd: LIBNBD_READ_ERROR, 3, no data), the last hole.
  t.deepEqual(chunks.map(([offset, length, status]) => [offset, length, status]), [[0, 65536, 1], [65536, 65536, 2], [131072, 0, 3], [196608, 65536, 2]])
  t.is(store.durable.fuaTrims, 1)
  t.true(h.logs.some((l) => l.level === 50 && l.msg === 'nbd request failed'), 'the unexpected error is logged')
})
