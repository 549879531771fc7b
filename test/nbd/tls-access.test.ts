import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { AccessList } from '../../gateway/nbd/access.ts'
import { parsePskFile } from '../../gateway/nbd/tls-psk.ts'
import { MiB, run, runOk, startNbd, type Harness } from './harness.ts'
import { CMD, goData, OPT, RawClient, REP } from './raw-client.ts'

const SPECS = [{ name: 'vol', size: 16 * MiB }]

/** A server requiring TLS with a psktool-made key for alice (and the key file path). */
async function tlsServer (t: ExecutionContext): Promise<{ h: Harness, pskFile: string, key: Buffer }> {
  const h = await startNbd(t, SPECS, async (dir) => {
    // qemu's tls-creds-psk reads DIR/keys.psk.
    await runOk('psktool', ['-u', 'alice', '-p', join(dir, 'keys.psk')])
    return { tls: { pskFile: join(dir, 'keys.psk') } }
  })
  const pskFile = join(h.dir, 'keys.psk')
  return { h, pskFile, key: parsePskFile(await readFile(pskFile, 'utf8'), pskFile).get('alice')! }
}

function nbds (h: Harness, pskFile: string, user = 'alice'): string {
  return `nbds://${user}@127.0.0.1:${h.server.port}/vol?tls-psk-file=${pskFile}`
}

test('TLS-PSK: nbdinfo over nbds:// (GnuTLS negotiates TLS 1.3), identity in the log', async (t) => {
  const { h, pskFile } = await tlsServer(t)
  const info = JSON.parse(await runOk('nbdinfo', ['--json', nbds(h, pskFile)])) as { TLS: boolean, exports: Array<{ 'export-size': number }> }
  t.true(info.TLS)
  t.is(info.exports[0]!['export-size'], 16 * MiB)
  const established = h.logs.find((l) => l.msg === 'nbd TLS established')
  t.like(established, { identity: 'alice', protocol: 'TLSv1.3' })
})

test('TLS-PSK: qemu-io with tls-creds-psk writes and reads back; nbdcopy over nbds://', async (t) => {
  const { h, pskFile } = await tlsServer(t)
  const args = ['--object', `tls-creds-psk,id=tls0,endpoint=client,dir=${h.dir},username=alice`,
    '--image-opts', `driver=nbd,host=127.0.0.1,port=${h.server.port},export=vol,tls-creds=tls0`]
  await runOk('qemu-io', [...args, '-c', 'write -P 0x3c 1M 2M', '-c', 'flush'])
  const out = await runOk('qemu-io', [...args, '-c', 'read -P 0x3c 1M 2M', '-c', 'read -P 0 0 1M'])
  t.regex(out, /read 2097152\/2097152 bytes at offset 1048576/)
  await runOk('nbdcopy', [nbds(h, pskFile), 'null:'])
  t.is(h.exports.store('vol').read(1 * MiB, 1)[0], 0x3c)
})

test('TLS required: a plain client is refused; every option but STARTTLS and ABORT is ERR_TLS_REQD; EXPORT_NAME closes', async (t) => {
  const { h } = await tlsServer(t)
  const plain = await run('nbdinfo', [h.uri('vol')])
  t.not(plain.code, 0)
  const c = await RawClient.connect(h.server.port)
  await c.handshake()
  for (const option of [OPT.LIST, OPT.STRUCTURED_REPLY, OPT.INFO, OPT.GO, OPT.LIST_META_CONTEXT, 0x4242]) {
    c.sendOption(option, option === OPT.INFO || option === OPT.GO ? goData('vol') : Buffer.alloc(0))
    t.like(await c.optionReply(), { option, type: REP.ERR_TLS_REQD })
  }
  c.sendOption(OPT.EXPORT_NAME, Buffer.from('vol'))
  await c.closed
  const aborting = await RawClient.connect(h.server.port)
  await aborting.handshake()
  aborting.sendOption(OPT.ABORT)
  t.like(await aborting.optionReply(), { type: REP.ACK })
  await aborting.closed
  t.is(h.exports.openDevices, 0)
})

test('TLS 1.2 PSK suites (PSK, ECDHE-PSK, DHE-PSK) from a raw client; STARTTLS twice is ERR_INVALID; a wrong key or identity fails the handshake', async (t) => {
  const { h, pskFile, key } = await tlsServer(t)
  for (const ciphers of ['PSK-AES256-GCM-SHA384', 'ECDHE-PSK-CHACHA20-POLY1305', 'DHE-PSK-AES128-GCM-SHA256']) {
    const c = await RawClient.connect(h.server.port)
    await c.handshake()
    c.sendOption(OPT.STARTTLS)
    t.like(await c.optionReply(), { type: REP.ACK })
    await c.startTls({ maxVersion: 'TLSv1.2', ciphers, pskCallback: () => ({ identity: 'alice', psk: key }), checkServerIdentity: () => undefined })
    c.sendOption(OPT.STARTTLS)
    t.like(await c.optionReply(), { type: REP.ERR_INVALID }, ciphers)
    await c.go('vol')
    c.request(CMD.READ, 5n, 0, 4096)
    t.like((await c.fullReply())[0], { cookie: 5n, error: 0 }, ciphers)
    c.request(CMD.DISC, 6n, 0, 0)
    await c.closed
  }
  await runOk('psktool', ['-u', 'alice', '-p', join(h.dir, 'other.psk')])
  await runOk('psktool', ['-u', 'mallory', '-p', join(h.dir, 'mallory.psk')])
  t.not((await run('nbdinfo', [nbds(h, join(h.dir, 'other.psk'))])).code, 0, 'wrong key')
  t.not((await run('nbdinfo', [nbds(h, join(h.dir, 'mallory.psk'), 'mallory')])).code, 0, 'unknown identity')
  t.is(h.logs.filter((l) => l.msg === 'nbd TLS handshake failed').length, 2)
  t.is((await run('nbdinfo', [nbds(h, pskFile)])).code, 0, 'the right key still works')
})

test('address not allowed: every option gets ERR_POLICY, with a warning logged; allowed subnets and IPv6 work', async (t) => {
  const refused = await startNbd(t, SPECS, { allow: ['::1'] })
  // libnbd shows the server's message only in its debug output.
  const result = await run('nbdinfo', [refused.uri('vol')], { env: { ...process.env, LIBNBD_DEBUG: '1' } })
  t.not(result.code, 0)
  t.regex(result.stderr, /nbd_opt_go: handshake: server error message: client address not allowed/)
  const c = await RawClient.connect(refused.server.port)
  await c.handshake()
  c.sendOption(OPT.LIST)
  const list = await c.optionReply()
  t.is(list.type, REP.ERR_POLICY)
  t.regex(list.data.toString(), /not allowed/)
  c.sendOption(OPT.EXPORT_NAME, Buffer.from('vol'))
  await c.closed
  t.true(refused.logs.some((l) => l.level === 40 && l.msg === 'nbd client address not allowed; refusing every option' && String(l.client).startsWith('127.0.0.1:')))
  t.is(refused.exports.openDevices, 0)

  const v6 = await startNbd(t, SPECS, { host: '::1', allow: ['::1', '10.0.0.0/8'] })
  t.is(v6.server.address, `[::1]:${v6.server.port}`)
  await runOk('qemu-io', ['-f', 'raw', '-c', 'write -P 1 0 4k', `nbd://[::1]:${v6.server.port}/vol`])

  const subnet = await startNbd(t, SPECS, { allow: ['127.0.0.0/30'] })
  await runOk('nbdinfo', [subnet.uri('vol')])
})

test('AccessList: addresses, CIDRs of both families, IPv4-mapped IPv6 clients, bad entries', (t) => {
  const list = new AccessList(['192.168.1.0/24', '10.1.2.3', 'fd00::/8', '::1'])
  t.true(list.allows('192.168.1.77'))
  t.false(list.allows('192.168.2.1'))
  t.true(list.allows('10.1.2.3'))
  t.false(list.allows('10.1.2.4'))
  t.true(list.allows('fd12:3456::1'))
  t.false(list.allows('fe80::1'))
  t.true(list.allows('::1'))
  t.true(list.allows('::ffff:192.168.1.5'))
  t.false(list.allows('::ffff:127.0.0.1'))
  t.false(list.allows(undefined))
  t.false(new AccessList([]).allows('127.0.0.1'))
  t.throws(() => new AccessList(['example.com']))
  t.throws(() => new AccessList(['10.0.0.0/33']))
  t.throws(() => new AccessList(['::/129']))
})

test('psk file parsing: identity:hexkey lines, comments and blanks skipped, malformed lines rejected', (t) => {
  const keys = parsePskFile('# keys\nalice:00ff10\n\nbob:ABCDEF\n', 'k')
  t.deepEqual([...keys.keys()], ['alice', 'bob'])
  t.deepEqual(keys.get('alice'), Buffer.from([0, 0xff, 0x10]))
  t.throws(() => parsePskFile('alice:xyz\n', 'k'), { message: /k:1/ })
  t.throws(() => parsePskFile('nocolon\n', 'k'))
  t.throws(() => parsePskFile('alice:abc\n', 'k'))
  t.throws(() => parsePskFile('\n', 'k'), { message: /no keys/ })
})
