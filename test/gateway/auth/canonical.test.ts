import test from 'ava'
import { authenticate, canonicalPath, parseQuery, uriEncode } from '../../../gateway/s3/auth/index.ts'
import { canonicalQuery, canonicalRequest } from '../../../gateway/s3/auth/canonical.ts'
import { credentials, DOC, signCanonical } from './helpers.ts'

test('uriEncode leaves only unreserved characters, upper-case hex, UTF-8', (t) => {
  t.is(uriEncode('AZaz09-._~'), 'AZaz09-._~')
  t.is(uriEncode(' !"#$%&\'()*+,/:;=?@[]'), '%20%21%22%23%24%25%26%27%28%29%2A%2B%2C%2F%3A%3B%3D%3F%40%5B%5D')
  t.is(uriEncode('ключ€😀'), '%D0%BA%D0%BB%D1%8E%D1%87%E2%82%AC%F0%9F%98%80')
})

test('the canonical path is the raw path re-encoded, never normalised', (t) => {
  t.is(canonicalPath('/test$file.text'), '/test%24file.text')
  t.is(canonicalPath('/test%24file.text'), '/test%24file.text')
  t.is(canonicalPath('/b/a%20b/c%2Bd~e%24f'), '/b/a%20b/c%2Bd~e%24f')
  t.is(canonicalPath('/b/a+b'), '/b/a%2Bb')
  t.is(canonicalPath('/b//x/./y/../z/'), '/b//x/./y/../z/')
  t.is(canonicalPath('/b/a%2Fb'), '/b/a%2Fb', 'an encoded slash inside a key stays encoded')
  t.is(canonicalPath('/b/100%'), '/b/100%25', 'a stray % is a literal %')
  t.is(canonicalPath('/b/%e2%82%ac'), '/b/%E2%82%AC')
  t.is(canonicalPath(''), '/')
  t.is(canonicalPath('/'), '/')
})

test('the canonical query is sorted by name then value, values re-encoded, bare names get =', (t) => {
  t.is(canonicalQuery(parseQuery('prefix=J&max-keys=2')), 'max-keys=2&prefix=J')
  t.is(canonicalQuery(parseQuery('uploads')), 'uploads=')
  t.is(canonicalQuery(parseQuery('b=2&a=z&a=y&a=')), 'a=&a=y&a=z&b=2')
  t.is(canonicalQuery(parseQuery('prefix=a%2Fb+c&delimiter=/')), 'delimiter=%2F&prefix=a%2Fb%2Bc')
  t.is(canonicalQuery(parseQuery('x=%7e&&y=~')), 'x=~&y=~')
  t.is(canonicalQuery(parseQuery('X-Amz-Signature=abc&a=1'), 'X-Amz-Signature'), 'a=1')
  t.deepEqual(parseQuery('k=a%20b').map((p) => p.value), ['a b'])
})

test('header values are trimmed and inner whitespace collapsed', (t) => {
  const text = canonicalRequest({
    method: 'get',
    rawPath: '/',
    query: [],
    headers: { host: ' h ', 'x-amz-meta-a': '  one   two\t three  ', 'x-amz-meta-b': ['x', ' y '] },
    signedHeaders: ['host', 'x-amz-meta-a', 'x-amz-meta-b'],
    payloadHash: 'UNSIGNED-PAYLOAD'
  })
  t.is(text, 'GET\n/\n\nhost:h\nx-amz-meta-a:one two three\nx-amz-meta-b:x,y\n\nhost;x-amz-meta-a;x-amz-meta-b\nUNSIGNED-PAYLOAD')
})

const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
const docAuth = (signedHeaders: string, signature: string): string =>
  `AWS4-HMAC-SHA256 Credential=${DOC.accessKeyId}/${DOC.scope},SignedHeaders=${signedHeaders},Signature=${signature}`

// "Signature Calculations for the Authorization Header: Transferring Payload in a Single Chunk", Examples.
const DOC_EXAMPLES = [
  {
    name: 'GET Object (Range)',
    method: 'GET',
    rawUrl: '/test.txt',
    headers: { host: 'examplebucket.s3.amazonaws.com', range: 'bytes=0-9', 'x-amz-content-sha256': EMPTY, 'x-amz-date': DOC.date },
    auth: docAuth('host;range;x-amz-content-sha256;x-amz-date', 'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41')
  },
  {
    name: 'PUT Object (raw $ in the path, Date header)',
    method: 'PUT',
    rawUrl: '/test$file.text',
    headers: {
      host: 'examplebucket.s3.amazonaws.com', date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-date': DOC.date, 'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256': '44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072'
    },
    auth: docAuth('date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class', '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd')
  },
  {
    name: 'GET Bucket Lifecycle (bare query name)',
    method: 'GET',
    rawUrl: '/?lifecycle',
    headers: { host: 'examplebucket.s3.amazonaws.com', 'x-amz-content-sha256': EMPTY, 'x-amz-date': DOC.date },
    auth: docAuth('host;x-amz-content-sha256;x-amz-date', 'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543')
  },
  {
    name: 'Get Bucket (List Objects), unsorted query',
    method: 'GET',
    rawUrl: '/?max-keys=2&prefix=J',
    headers: { host: 'examplebucket.s3.amazonaws.com', 'x-amz-content-sha256': EMPTY, 'x-amz-date': DOC.date },
    auth: docAuth('host;x-amz-content-sha256;x-amz-date', '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7')
  }
]

for (const example of DOC_EXAMPLES) {
  test(`AWS documentation example: ${example.name}`, async (t) => {
    const request = { method: example.method, rawUrl: example.rawUrl, headers: { ...example.headers, authorization: example.auth } }
    const auth = await authenticate(request, { credentials: credentials(), now: DOC.now, region: 'us-east-1' })
    t.is(auth?.principal, 'doc')
    t.is(auth?.scope, DOC.scope)
    t.is(auth?.date, DOC.date)
    const tampered = { ...request, headers: { ...request.headers, 'x-amz-date': '20130524T000001Z' } }
    await t.throwsAsync(authenticate(tampered, { credentials: credentials(), now: DOC.now }), { code: 'SignatureDoesNotMatch' })
  })
}

test('the PUT example also verifies with the path sent percent-encoded', async (t) => {
  const [, put] = DOC_EXAMPLES
  const request = { method: 'PUT', rawUrl: '/test%24file.text', headers: { ...put!.headers, authorization: put!.auth } }
  t.truthy(await authenticate(request, { credentials: credentials(), now: DOC.now }))
})

test('a legacy request dated only by the Date header verifies', async (t) => {
  const headers = { host: '127.0.0.1:9000', date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-content-sha256': EMPTY }
  const canonical = `GET\n/b/k\n\ndate:${headers.date}\nhost:${headers.host}\nx-amz-content-sha256:${EMPTY}\n\ndate;host;x-amz-content-sha256\n${EMPTY}`
  const signature = signCanonical(DOC.secretAccessKey, DOC.scope, DOC.date, canonical)
  const request = { method: 'GET', rawUrl: '/b/k', headers: { ...headers, authorization: docAuth('date;host;x-amz-content-sha256', signature) } }
  const auth = await authenticate(request, { credentials: credentials(), now: DOC.now })
  t.is(auth?.date, DOC.date)
  const later = { ...request, headers: { ...request.headers, date: 'Fri, 24 May 2013 00:00:01 GMT' } }
  await t.throwsAsync(authenticate(later, { credentials: credentials(), now: DOC.now }), { code: 'SignatureDoesNotMatch' })
})
