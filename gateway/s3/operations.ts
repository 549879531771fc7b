import type { IncomingHttpHeaders } from 'node:http'
import type { S3Target } from './addressing.ts'
import { requireExistingBucketName } from './bucket-names.ts'
import { S3Error } from './errors.ts'
import type { S3Operation } from './s3-api.ts'
import { createBucket, deleteBucket, getBucketLocation, getBucketVersioning, headBucket, listBuckets } from './bucket-ops.ts'
import { listObjectsV1, listObjectsV2 } from './list-ops.ts'
import { copyObject, deleteObject, deleteObjects, getObject, headObject, putObject } from './object-ops.ts'
import {
  abortMultipartUpload, completeMultipartUpload, createMultipartUpload, listMultipartUploads, listParts, uploadPart, uploadPartCopy
} from './multipart-ops.ts'

/**
 * Sub-resources S3 has that we do not implement; a request naming one gets
 * NotImplemented instead of being mistaken for a plain object or bucket call.
 */
const UNSUPPORTED = ['acl', 'policy', 'tagging', 'lifecycle', 'cors', 'website', 'logging', 'notification', 'replication',
  'encryption', 'object-lock', 'retention', 'legal-hold', 'torrent', 'requestPayment', 'accelerate', 'analytics',
  'inventory', 'metrics', 'intelligent-tiering', 'ownershipControls', 'publicAccessBlock', 'restore', 'select',
  'versions', 'attributes']

/** Picks the operation for a request from its method, target and sub-resource. */
export function operationFor (method: string, target: S3Target, headers: IncomingHttpHeaders): S3Operation {
  const q = target.query
  const unsupported = UNSUPPORTED.find((name) => q.has(name))
  const copySource = headers['x-amz-copy-source'] !== undefined
  if (target.bucket === undefined) {
    if (method === 'GET') return listBuckets
    throw new S3Error('MethodNotAllowed')
  }
  // CreateBucket says InvalidBucketName itself; for every other operation such a bucket cannot exist.
  if (!(method === 'PUT' && target.key === undefined)) requireExistingBucketName(target.bucket)
  if (unsupported !== undefined) {
    throw new S3Error('NotImplemented', `The ${unsupported} sub-resource is not implemented`)
  }
  if (target.key === undefined) {
    // Versioning can be read (never enabled) but not configured.
    if (q.has('versioning') && method !== 'GET') throw new S3Error('NotImplemented', 'Bucket versioning cannot be configured')
    switch (method) {
      case 'PUT': return createBucket
      case 'HEAD': return headBucket
      case 'DELETE': return deleteBucket
      case 'POST':
        if (q.has('delete')) return deleteObjects
        break
      case 'GET':
        if (q.has('location')) return getBucketLocation
        if (q.has('versioning')) return getBucketVersioning
        if (q.has('uploads')) return listMultipartUploads
        if (q.get('list-type') === '2') return listObjectsV2
        return listObjectsV1
    }
    throw new S3Error('MethodNotAllowed')
  }
  switch (method) {
    case 'PUT':
      if (q.has('uploadId') || q.has('partNumber')) return copySource ? uploadPartCopy : uploadPart
      return copySource ? copyObject : putObject
    case 'GET': return q.has('uploadId') ? listParts : getObject
    case 'HEAD': return headObject
    case 'DELETE': return q.has('uploadId') ? abortMultipartUpload : deleteObject
    case 'POST':
      if (q.has('uploads')) return createMultipartUpload
      if (q.has('uploadId')) return completeMultipartUpload
  }
  throw new S3Error('MethodNotAllowed')
}
