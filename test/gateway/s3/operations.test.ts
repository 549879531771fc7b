import test from 'ava'
import { parseTarget } from '../../../gateway/s3/addressing.ts'
import { createBucket, getBucketVersioning, listBuckets } from '../../../gateway/s3/bucket-ops.ts'
import { operationFor } from '../../../gateway/s3/operations.ts'

const at = (url: string) => parseTarget(url, '127.0.0.1:8080', undefined)

test('a bucket name no bucket can have addresses none: NoSuchBucket, except CreateBucket, which judges the name', (t) => {
  for (const [method, url] of [['GET', '/b+segments'], ['PUT', '/b+segments/k'], ['DELETE', '/b+uploads'], ['HEAD', '/UPPER/k'], ['POST', '/a_b?delete']]) {
    t.throws(() => operationFor(method!, at(url!), {}), { code: 'NoSuchBucket' }, `${method} ${url}`)
  }
  t.is(operationFor('PUT', at('/b+segments'), {}), createBucket)
  t.is(operationFor('GET', at('/'), {}), listBuckets)
})

test('versioning is read-only: GET answers, PUT is NotImplemented rather than a CreateBucket', (t) => {
  t.is(operationFor('GET', at('/bkt?versioning'), {}), getBucketVersioning)
  t.throws(() => operationFor('PUT', at('/bkt?versioning'), {}), { code: 'NotImplemented' })
})
