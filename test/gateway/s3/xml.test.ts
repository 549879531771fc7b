import test from 'ava'
import { escapeXml } from '../../../gateway/s3/xml-escape.ts'
import { parseXml } from '../../../gateway/s3/xml.ts'

/** Request documents as different encoders write them. */

test('numeric character references decode: Go\'s encoder (rclone) writes quotes as &#34;', (t) => {
  const doc = parseXml('<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>&#34;61abe125&#34;</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>', 'CompleteMultipartUpload')
  t.deepEqual(doc.Part, [{ ETag: '"61abe125"', PartNumber: '1' }])
})

test('named XML entities, hex references and astral characters decode in keys', (t) => {
  const doc = parseXml('<Delete><Object><Key>a&amp;b&lt;c&gt;&quot;&apos;&#x1F600;&#233;\n</Key></Object></Delete>', 'Delete')
  t.deepEqual(doc.Object, [{ Key: 'a&b<c>"\'\u{1F600}\u00e9\n' }])
})

test('unknown entities, bad references and DOCTYPE-declared entities are MalformedXML or stay unexpanded', (t) => {
  for (const text of ['<Delete><Object><Key>&nbsp;</Key></Object></Delete>', '<Delete><Object><Key>&#0;</Key></Object></Delete>', '<Delete><Object><Key>&#xD800;</Key></Object></Delete>']) {
    t.throws(() => parseXml(text, 'Delete'), { code: 'MalformedXML' }, text)
  }
  const declared = '<!DOCTYPE Delete [<!ENTITY boom "BOOM">]><Delete><Object><Key>&boom;</Key></Object></Delete>'
  t.throws(() => parseXml(declared, 'Delete'), { code: 'MalformedXML' })
})

test('keys go out as XML that parses back to the same string: CR and control characters as character references', (t) => {
  const key = 'a&b<c>"d\'e\rf\r\ng\u0007h\ti\nj'
  const escaped = escapeXml(key)
  t.is(escaped, 'a&amp;b&lt;c&gt;&quot;d&apos;e&#13;f&#13;\ng&#7;h\ti\nj')
  const doc = parseXml(`<Delete><Object><Key>${escaped.replace('&#7;', '')}</Key></Object></Delete>`, 'Delete')
  t.deepEqual(doc.Object, [{ Key: key.replace('\u0007', '') }], 'a parser reads CR back as CR, not LF')
})

test('NUL, which no XML can carry, becomes U+FFFD rather than an unparseable &#0;', (t) => {
  t.is(escapeXml('nul\u0000key'), 'nul\ufffdkey')
})
