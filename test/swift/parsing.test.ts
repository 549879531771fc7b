import test from 'ava'
import { parseRange, parseRanges } from '../../gateway/http/range.ts'
import { SwiftError } from '../../gateway/swift/errors.ts'
import { parseTarget, splitContainerObject } from '../../gateway/swift/target.ts'

/** The pure parsers under the Swift API: paths and names, and Range headers with several ranges. */

test('paths: account, container and an object name with slashes and escapes, from the raw URL', (t) => {
  const target = parseTarget('/v1/AUTH_p1/photos/2024/a%20b%2Fc.jpg?format=json&prefix=x')
  t.is(target.account, 'AUTH_p1')
  t.is(target.projectId, 'p1')
  t.is(target.container, 'photos')
  t.is(target.object, '2024/a b/c.jpg')
  t.is(target.query.get('format'), 'json')
  t.like(parseTarget('/v1/AUTH_p1/photos/'), { container: 'photos', object: undefined })
  t.like(parseTarget('/v1/AUTH_p1'), { container: undefined })
})

test('bad paths and names: not an AUTH_ account 404, over-long or reserved names and bad escapes 400', (t) => {
  const code = (fn: () => unknown): string | undefined => (t.throws(fn, { instanceOf: SwiftError }) as SwiftError | undefined)?.code
  t.is(code(() => parseTarget('/v1/other/c')), 'NotFound')
  t.is(code(() => parseTarget(`/v1/AUTH_p/${'c'.repeat(257)}`)), 'BadRequest')
  t.is(code(() => parseTarget(`/v1/AUTH_p/c/${'é'.repeat(513)}`)), 'BadRequest', '1026 bytes in 513 characters')
  t.is(code(() => parseTarget('/v1/AUTH_p/a+segments')), 'BadRequest')
  t.is(code(() => parseTarget('/v1/AUTH_p/c/%E0%A4%A')), 'BadRequest')
  t.is(code(() => splitContainerObject('only-container', 'X-Copy-From')), 'PreconditionFailed')
  t.deepEqual(splitContainerObject('/c/o/with/slashes', 'path'), { container: 'c', object: 'o/with/slashes' })
})

test('Range: several specs for Swift, exactly one for S3; any malformed spec voids the header', (t) => {
  t.deepEqual(parseRanges('bytes=0-1, 5-, -3'), [{ kind: 'from', start: 0, end: 1 }, { kind: 'from', start: 5 }, { kind: 'suffix', length: 3 }])
  t.deepEqual(parseRange('bytes=2-4'), { kind: 'from', start: 2, end: 4 })
  t.is(parseRange('bytes=0-1,5-6'), undefined)
  t.is(parseRanges('bytes=0-1,x'), undefined)
  t.is(parseRanges('bytes=5-2'), undefined)
  t.is(parseRanges('items=0-1'), undefined)
})
