import { createHash } from 'node:crypto'
import test from 'ava'
import {
  BodyDigests, CHECKSUM_ALGORITHMS, checksumHeader, checksumOf, parseChecksumAlgorithm
} from '../../../gateway/s3/auth/index.ts'
import { isWellFormedChecksum } from '../../../gateway/s3/auth/checksums.ts'
import { prng } from './helpers.ts'

const b64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64')

// Reference values: the CRC catalogue check values ("123456789") and well-known digests.
const VECTORS: Array<[string, Record<string, string>]> = [
  ['123456789', { crc32: b64('cbf43926'), crc32c: b64('e3069283'), crc64nvme: b64('ae8b14860a799888') }],
  ['hello world', {
    crc32: 'DUoRhQ==', crc32c: 'yZRlqg==', crc64nvme: 'jSnVw/bqjr4=',
    sha1: b64('2aae6c35c94fcfb415dbe95f408b9ce91ee846ed'),
    sha256: b64('b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9')
  }],
  ['abc', {
    sha1: b64('a9993e364706816aba3e25717850c26c9cd0d89d'),
    sha256: b64('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'),
    crc32: b64('352441c2'), crc32c: b64('364b3fb7')
  }],
  ['', { crc32: 'AAAAAA==', crc32c: 'AAAAAA==', crc64nvme: 'AAAAAAAAAAA=', sha256: b64('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855') }]
]

test('known values, base64 of the big-endian digest', async (t) => {
  for (const [text, expected] of VECTORS) {
    for (const [name, value] of Object.entries(expected)) {
      const algorithm = parseChecksumAlgorithm(name)!
      t.is(await checksumOf(algorithm, Buffer.from(text)), value, `${name}("${text}")`)
    }
  }
})

test('the AWS chunked-upload example object (66560 × "a") has crc32c sOO8/Q==', async (t) => {
  t.is(await checksumOf('crc32c', Buffer.alloc(66560, 'a')), 'sOO8/Q==')
})

test('running digests over any split equal one-shot digests, md5 included', async (t) => {
  const random = prng(7)
  const data = Buffer.alloc(200_003)
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(random() * 256)
  const whole = new BodyDigests(CHECKSUM_ALGORITHMS)
  whole.update(data)
  const expected = await whole.digest()
  t.is(expected.md5.toString('hex'), createHash('md5').update(data).digest('hex'))
  for (let round = 0; round < 20; round++) {
    const split = new BodyDigests(CHECKSUM_ALGORITHMS)
    let at = 0
    while (at < data.length) {
      const size = Math.floor(random() * 9000)
      split.update(data.subarray(at, at + size))
      at += size
    }
    t.deepEqual(await split.digest(), expected)
  }
})

test('only requested checksums are computed; md5 always is', async (t) => {
  const digests = new BodyDigests(['sha1', 'sha1', 'crc32'])
  t.deepEqual(digests.algorithms, ['sha1', 'crc32'])
  digests.update(Buffer.from('abc'))
  const { md5, checksums } = await digests.digest()
  t.is(md5.toString('hex'), '900150983cd24fb0d6963f7d28e17f72')
  t.deepEqual(Object.keys(checksums).sort(), ['crc32', 'sha1'])
})

test('algorithm names and value shapes', (t) => {
  t.is(parseChecksumAlgorithm('CRC64NVME'), 'crc64nvme')
  t.is(parseChecksumAlgorithm('CRC32C'), 'crc32c')
  t.is(parseChecksumAlgorithm('md5'), undefined)
  t.is(checksumHeader('sha256'), 'x-amz-checksum-sha256')
  t.true(isWellFormedChecksum('crc32', 'DUoRhQ=='))
  t.false(isWellFormedChecksum('crc32', 'DUoRhQ='))
  t.false(isWellFormedChecksum('crc32', 'DUoRhQ==='))
  t.false(isWellFormedChecksum('crc32', '!!!!!!=='))
  t.false(isWellFormedChecksum('crc64nvme', 'DUoRhQ=='))
  t.true(isWellFormedChecksum('crc64nvme', 'jSnVw/bqjr4='))
})
