import test from 'ava'
import { RingstackError } from '../../../lib/errors.ts'
import { isS3ErrorCode, renderS3ErrorXml, S3Error, s3ErrorStatus, toS3Error, type S3ErrorCode } from '../../../gateway/s3/errors.ts'

test('each code carries the HTTP status S3 answers with', (t) => {
  const expected: Array<[S3ErrorCode, number]> = [
    ['AccessDenied', 403], ['InvalidAccessKeyId', 403], ['SignatureDoesNotMatch', 403], ['AuthorizationHeaderMalformed', 400],
    ['AuthorizationQueryParametersError', 400], ['RequestTimeTooSkewed', 403], ['ExpiredToken', 400], ['XAmzContentSHA256Mismatch', 400],
    ['BadDigest', 400], ['InvalidDigest', 400], ['InvalidRequest', 400], ['InvalidArgument', 400], ['IncompleteBody', 400],
    ['MissingContentLength', 411], ['EntityTooLarge', 400], ['EntityTooSmall', 400], ['MalformedXML', 400], ['InvalidBucketName', 400],
    ['NoSuchBucket', 404], ['NoSuchKey', 404], ['NoSuchUpload', 404], ['BucketNotEmpty', 409], ['BucketAlreadyOwnedByYou', 409],
    ['BucketAlreadyExists', 409], ['PreconditionFailed', 412], ['NotModified', 304], ['InvalidRange', 416], ['KeyTooLongError', 400],
    ['InvalidPart', 400], ['InvalidPartOrder', 400], ['MethodNotAllowed', 405], ['NotImplemented', 501], ['InternalError', 500],
    ['ServiceUnavailable', 503], ['SlowDown', 503], ['MetadataTooLarge', 400], ['InvalidStorageClass', 400], ['MalformedTrailerError', 400]
  ]
  for (const [code, status] of expected) {
    const error = new S3Error(code)
    t.is(error.status, status, code)
    t.is(s3ErrorStatus(code), status)
    t.is(error.code, code)
    t.true(error.message.length > 0)
    t.true(error instanceof RingstackError)
    t.is(error.name, 'S3Error')
  }
  t.is(new S3Error('AccessDenied').message, 'Access Denied')
  t.is(new S3Error('AccessDenied', 'Request has expired').message, 'Request has expired')
})

test('isS3ErrorCode knows the table and nothing else', (t) => {
  t.true(isS3ErrorCode('NoSuchKey'))
  t.false(isS3ErrorCode('NoSuchThing'))
  t.false(isS3ErrorCode('toString'))
})

test('the XML body has Code, Message, details, Resource, RequestId, escaped', (t) => {
  const error = new S3Error('SignatureDoesNotMatch', undefined, {
    resource: '/bucket/a&b<c>"d\'e',
    details: { StringToSign: 'AWS4-HMAC-SHA256\n2013<x>', CanonicalRequest: 'PUT\n/a%20b\n\x01' }
  })
  const xml = renderS3ErrorXml(error, 'req-1', 'host-1')
  t.is(xml,
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SignatureDoesNotMatch</Code>' +
    '<Message>The request signature we calculated does not match the signature you provided. Check your key and signing method.</Message>' +
    '<StringToSign>AWS4-HMAC-SHA256\n2013&lt;x&gt;</StringToSign><CanonicalRequest>PUT\n/a%20b\n&#1;</CanonicalRequest>' +
    '<Resource>/bucket/a&amp;b&lt;c&gt;&quot;d&apos;e</Resource><RequestId>req-1</RequestId><HostId>host-1</HostId></Error>')
  t.is(renderS3ErrorXml(new S3Error('NoSuchBucket'), 'r'),
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><RequestId>r</RequestId></Error>')
})

test('toS3Error keeps S3 errors, maps shared domain codes and hides the rest as InternalError', (t) => {
  const own = new S3Error('NoSuchKey')
  t.is(toS3Error(own), own)
  const domain = toS3Error(new RingstackError('InvalidArgument', 'bad part number'))
  t.is(domain.code, 'InvalidArgument')
  t.is(domain.message, 'bad part number')
  const internal = toS3Error(new Error('ENOSPC at /srv/node/d1'))
  t.is(internal.code, 'InternalError')
  t.is(internal.status, 500)
  t.false(internal.message.includes('/srv'))
  t.true(internal.cause instanceof Error)
  t.is(toS3Error(new RingstackError('QuorumLost', 'x')).code, 'InternalError')
})
